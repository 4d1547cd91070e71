"""Deployments API: list and inspect deployments, publish a trained run, roll back, unpublish, try a model,
and read a deployment's serving metrics for the Deployments page."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from studio.core.errors import ApiError
from studio.core.pagination import paging_numbers
from studio.core.parsers import whole_number
from studio.projects.models import Role
from studio.projects.permissions import ProjectScopedMixin, require_role, visible

from .. import monitoring, rollout, services
from ..monitoring import MAX_SERVED
from ..models import Deployment, DeploymentVersion
from ..sources import choice_for_node, outputs_of_run
from .serializers import (CanarySerializer, DeploymentSerializer, KeySerializer, PublishSerializer,
                          RollbackSerializer, ShadowSerializer, TrafficSerializer, TrySerializer)

SETTINGS_FIELDS = ("rate_limit_rps", "rate_limit_burst", "log_share", "log_exclude")


def _error(exc: services.DeploymentError) -> ApiError:
    return ApiError(exc.status, "invalid" if exc.status == 400 else "conflict" if exc.status == 409 else "not_found",
                    [{"path": exc.field, "message": exc.message, "code": "deployment"}], exc.message)


class DeploymentViewSet(ProjectScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Published models of your projects. `publish` turns a trained run into a new live version (it answers on
    the serving process within seconds); `rollback` makes any earlier version live; `unpublish` takes the
    deployment off. Each serving URL is in `endpoints`; `input_spec` drives a "try it" form."""

    queryset = Deployment.objects.select_related("live_version").prefetch_related(
        Prefetch("versions", queryset=DeploymentVersion.objects.select_related("created_by", "deployment")),
        "events__user")
    serializer_class = DeploymentSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(request=PublishSerializer, responses={201: DeploymentSerializer})
    @action(detail=False, methods=["post"])
    def publish(self, request):
        from studio.runs.models import Run

        body = PublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        run = visible(Run.objects.select_related("project"), request.user).filter(pk=data["run"]).first()
        if run is None:
            raise ApiError(404, "not_found", [{"path": "run", "message": f"no run {data['run']}", "code": "not_found"}])
        require_role(request.user, run.project, Role.EDITOR)
        try:
            if data.get("node"):  # publish from a canvas node: the graph names the rest
                data = {**choice_for_node(run, data["node"]), **data}
            model, feature_state, holdout, node = outputs_of_run(run, data)
            version = services.publish(project=run.project, name=data["name"], model=model,
                                       feature_state=feature_state, holdout=holdout, user=request.user, run=run,
                                       node=node, threshold=data["threshold"], description=data["description"],
                                       canary=data.get("canary"), shadow=data["shadow"])
        except services.DeploymentError as exc:
            raise _error(exc) from None
        answer = self._detail(version.deployment_id)
        if version.new_keys:  # a new deployment: its keys, this once
            answer["new_keys"] = version.new_keys
        return Response(answer, status=status.HTTP_201_CREATED)

    @extend_schema(request=RollbackSerializer, responses=DeploymentSerializer)
    @action(detail=True, methods=["post"])
    def rollback(self, request, pk=None):
        deployment = self._writable()
        body = RollbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.rollback(deployment, body.validated_data["version"], request.user)
        except services.DeploymentError as exc:
            raise _error(exc) from None
        return Response(self._detail(deployment.pk))

    @extend_schema(request=KeySerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def keys(self, request, pk=None):
        """Regenerate the primary or the secondary key: the answer holds it, this once (only its hash is kept).
        The other key goes on working, so callers move to the new one without downtime."""
        deployment = self._writable()
        body = KeySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        which = body.validated_data["which"]
        key = self._run(rollout.regenerate_key, deployment, which, request.user)
        return Response({"which": which, "key": key, "hint": key[-4:]})

    @extend_schema(request=TrafficSerializer, responses=DeploymentSerializer)
    @action(detail=True, methods=["post"])
    def traffic(self, request, pk=None):
        """Split live traffic over versions, {"weights": {"1": 90, "2": 10}} (percents adding up to 100)."""
        deployment = self._writable()
        body = TrafficSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        self._run(rollout.set_traffic, deployment, body.validated_data["weights"], request.user)
        return Response(self._detail(deployment.pk))

    @extend_schema(request=CanarySerializer, responses=DeploymentSerializer)
    @action(detail=True, methods=["post"])
    def canary(self, request, pk=None):
        """A version takes `percent` of traffic, the live version the rest."""
        deployment = self._writable()
        body = CanarySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        self._run(rollout.canary, deployment, body.validated_data["version"], body.validated_data["percent"],
                  request.user)
        return Response(self._detail(deployment.pk))

    @extend_schema(request=RollbackSerializer, responses=DeploymentSerializer)
    @action(detail=True, methods=["post"])
    def promote(self, request, pk=None):
        """A version (a canary, typically) takes all traffic."""
        deployment = self._writable()
        body = RollbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        self._run(rollout.promote, deployment, body.validated_data["version"], request.user)
        return Response(self._detail(deployment.pk))

    @extend_schema(request=ShadowSerializer, responses=DeploymentSerializer)
    @action(detail=True, methods=["post"])
    def shadow(self, request, pk=None):
        """A version that scores a copy of every request off the request path and answers none (null: off)."""
        deployment = self._writable()
        body = ShadowSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        self._run(rollout.set_shadow, deployment, body.validated_data["version"], request.user)
        return Response(self._detail(deployment.pk))

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT, parameters=[
        OpenApiParameter("days", float, description="Requests of the last N days (default 7)")])
    @action(detail=True, methods=["get"], url_path="shadow-comparison")
    def shadow_comparison(self, request, pk=None):
        """Live vs shadow on the same requests: label agreement and the distribution of score differences."""
        return Response(monitoring.shadow_comparison(self.get_object(), _days(request)))

    def perform_update(self, serializer):
        changed = [name for name in SETTINGS_FIELDS if name in serializer.validated_data]
        exclude = serializer.validated_data.get("log_exclude")
        if exclude is not None:
            serializer.validated_data["log_exclude"] = sorted(set(exclude))
        deployment = serializer.save()
        if changed:
            rollout.settings_changed(deployment, changed, self.request.user)

    def _run(self, function, *args):
        try:
            return function(*args)
        except services.DeploymentError as exc:
            raise _error(exc) from None

    @extend_schema(request=None, responses=DeploymentSerializer)
    @action(detail=True, methods=["post"])
    def unpublish(self, request, pk=None):
        deployment = self._writable()
        try:
            services.unpublish(deployment, request.user)
        except services.DeploymentError as exc:
            raise _error(exc) from None
        return Response(self._detail(deployment.pk))

    @extend_schema(request=TrySerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"], url_path="try")
    def try_it(self, request, pk=None):
        """Score rows on the serving process (the "try it" form): the serving answer, unchanged."""
        deployment = self.get_object()
        body = TrySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        url = f"{services.serving_url()}/v1/models/{deployment.name}:predict"
        if body.validated_data["explain"]:
            url += "?explain=true"
        payload = json.dumps({"instances": body.validated_data["instances"]}).encode()
        headers = {"Content-Type": "application/json"}
        if body.validated_data.get("key"):
            headers["Authorization"] = f"Bearer {body.validated_data['key']}"
        request_out = urllib.request.Request(url, data=payload, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request_out, timeout=10) as answer:
                return Response(json.loads(answer.read()))
        except urllib.error.HTTPError as exc:
            error = json.loads(exc.read() or b"{}").get("error", str(exc))
            # the serving process refusing the key is the form's key field at fault (not the session's 401)
            path, code = ("key", 400) if exc.code in (401, 403) else ("instances", exc.code)
            raise ApiError(code if code < 500 else 502, "serving",
                           [{"path": path, "message": error, "code": "serving"}], error) from None
        except OSError as exc:
            raise ApiError(502, "serving", [{"path": "", "message": f"the serving process at {url} did not "
                                             f"answer: {exc}", "code": "serving"}]) from None

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def serving(self, request, pk=None):
        """What the serving process reports for this deployment, with request, error and latency figures per
        version scraped from its Prometheus /metrics, and a curl example (for the Deployments page)."""
        deployment = self.get_object()
        state = services.serving_state(deployment.name)
        state["metrics"] = services.serving_metrics(deployment.name) if state.get("reachable") else {}
        state["curl"] = services.curl_example(deployment)
        return Response(state)

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT, parameters=[
        OpenApiParameter("days", float, description="Served rows of the last N days (default 7, at most 366)"),
        OpenApiParameter("version", int, description="Version to report on (default: the live one)")])
    @action(detail=True, methods=["get"])
    def drift(self, request, pk=None):
        """Drift of the served inputs from the rows the version was published with: PSI per input and of the
        score, missing and unseen shares, and a plotly bar chart of the PSIs coloured by threshold."""
        deployment = self.get_object()
        version = request.query_params.get("version")
        if version is not None and not (whole_number(version) and len(version) < 10):
            raise ApiError(400, "invalid", [{"path": "version", "message": "expected a version number",
                                             "code": "invalid"}])
        return Response(monitoring.drift(deployment, _days(request), int(version) if version else None))

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT, parameters=[
        OpenApiParameter("days", float, description="Live metrics over the last N days (default 7)")])
    @action(detail=True, methods=["get"])
    def monitoring(self, request, pk=None):
        """The closed loop: labels received per day, live AUC / logloss per day from labeled served rows, and
        the champion / challenger decisions of publish_if_better."""
        return Response(monitoring.monitoring(self.get_object(), _days(request)))

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT, parameters=[
        OpenApiParameter("limit", int, description=f"Requests to list (default 20, at most {MAX_SERVED})")])
    @action(detail=True, methods=["get"])
    def served(self, request, pk=None):
        """The last requests the prediction log kept, newest first (request id, time, version, rows, the first rows'
        answers): the ids a labels CSV (request_id, row, label) names."""
        deployment = self.get_object()
        limit = paging_numbers(request, {"limit": (20, 1, MAX_SERVED)})["limit"]
        return Response({"requests": monitoring.served_requests(deployment, limit),
                         "log_share": deployment.log_share})

    def _writable(self) -> Deployment:
        deployment = self.get_object()
        require_role(self.request.user, deployment.project, Role.EDITOR)
        return deployment

    def _detail(self, pk: int) -> dict:
        return DeploymentSerializer(self.get_queryset().get(pk=pk)).data


def _days(request) -> float:
    raw = request.query_params.get("days", "7")
    try:
        days = float(raw)
    except ValueError:
        days = -1.0
    if not 0 < days <= monitoring.MAX_DAYS:
        message = f"expected a number of days above 0, at most {monitoring.MAX_DAYS}"
        raise ApiError(400, "invalid", [{"path": "days", "code": "invalid", "message": message}])
    return days
