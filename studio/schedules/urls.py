from django.urls import include, path
from rest_framework.routers import DefaultRouter

from .api.views import ProjectWebhookViewSet, ScheduleViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("schedules", ScheduleViewSet, basename="schedule")
router.register("webhooks", ProjectWebhookViewSet, basename="webhook")

urlpatterns = [path("", include(router.urls))]
