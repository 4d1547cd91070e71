from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("studio.core.urls")),
    path("api/", include("studio.deployments.urls")),
    # The canvas (single-page app) answers every other path; keep this last.
    path("", include("studio.frontend_app.urls")),
]
