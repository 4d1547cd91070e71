from django.urls import include, path
from rest_framework.routers import DefaultRouter

from studio.datasets.api.views import ConnectionViewSet, UploadViewSet
from studio.projects.api.views import MembershipViewSet, ProjectViewSet
from studio.runs.api.views import RunViewSet
from studio.workflows.api.views import ComponentViewSet, PipelineViewSet

from .api import auth, views
from .api.operators import OperatorDetailView, OperatorListView

router = DefaultRouter()
router.include_root_view = False
router.register("projects", ProjectViewSet, basename="project")
router.register(r"projects/(?P<project_pk>[0-9]{1,18})/members", MembershipViewSet, basename="project-member")
router.register("pipelines", PipelineViewSet, basename="pipeline")
router.register("components", ComponentViewSet, basename="component")
router.register("uploads", UploadViewSet, basename="upload")
router.register("connections", ConnectionViewSet, basename="connection")
router.register("runs", RunViewSet, basename="run")

urlpatterns = [
    path("health", views.health, name="health"),
    path("auth/session/", auth.SessionView.as_view(), name="auth-session"),
    path("auth/login/", auth.LoginView.as_view(), name="auth-login"),
    path("auth/logout/", auth.LogoutView.as_view(), name="auth-logout"),
    path("auth/token/", auth.TokenView.as_view(), name="auth-token"),
    path("auth/ws-ticket/", auth.WsTicketView.as_view(), name="auth-ws-ticket"),
    path("operators/", OperatorListView.as_view(), name="operator-list"),
    path("operators/<str:name>/", OperatorDetailView.as_view(), name="operator-detail"),
    path("", include(router.urls)),
]
