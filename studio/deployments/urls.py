from django.urls import include, path
from rest_framework.routers import DefaultRouter

from .api.views import DeploymentViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("deployments", DeploymentViewSet, basename="deployment")

urlpatterns = [path("", include(router.urls))]
