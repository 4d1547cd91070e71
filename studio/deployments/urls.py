from django.urls import include, path
from rest_framework.routers import DefaultRouter

from .api.feedback import FeedbackView
from .api.views import DeploymentViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("deployments", DeploymentViewSet, basename="deployment")

urlpatterns = [
    # by name, as a prediction answers with it (the router's routes are by id)
    path("deployments/<slug:name>/feedback/", FeedbackView.as_view(), name="deployment-feedback"),
    path("", include(router.urls)),
]
