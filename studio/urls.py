from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from studio.core.api.views import not_found as api_not_found

handler400 = "studio.core.api.views.bad_request"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("studio.core.urls")),
    path("api/", include("studio.deployments.urls")),
    path("api/", include("studio.schedules.urls")),
    re_path(r"^api/", api_not_found),  # anything else under /api/ is a JSON 404, never the canvas's HTML
    # The canvas (single-page app) answers every other path; keep this last.
    path("", include("studio.frontend_app.urls")),
]
