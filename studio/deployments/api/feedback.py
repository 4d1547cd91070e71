"""POST /api/deployments/<name>/feedback/: labels for served rows, by the deployment's name (the name a
prediction answered with), as JSON or as an uploaded CSV."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import parsers, permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from studio.core.errors import ApiError
from studio.core.parsers import BoundedJSONParser
from studio.projects.models import Role
from studio.projects.permissions import require_role, visible

from .. import feedback
from ..models import Deployment


class FeedbackView(APIView):
    """Attach true labels to served predictions: `{"labels": [{"request_id": "...", "row": 0, "label": "yes"}]}`
    (up to 10,000 per call), or a multipart `file` (CSV with the columns request_id, label and optionally row, 0
    when absent; the label column may instead be named after the deployment's target, e.g. renewed, but not both).
    A label is one of the values the deployment answers with ("yes" / "no"), of the values of the version that
    served the row, or 0 / 1 (1: the positive class of the version that served the row); it is kept against that
    version. A repeated (request id, row) replaces its label; ids the prediction log does not hold are reported
    back in `unknown_request_ids` (and rows past a request's end in `unknown_rows`), not stored. Needs the editor
    role."""

    permission_classes = [permissions.IsAuthenticated]
    # The API's JSON parser (depth, NUL, NaN refused with a 400), as every other view: DRF's own let a NUL request id
    # through to PostgreSQL and answered a deeply nested body with a 500 (RecursionError).
    parser_classes = [BoundedJSONParser, parsers.MultiPartParser]

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request, name: str):
        deployment = visible(Deployment.objects.all(), request.user).filter(name=name).first()
        if deployment is None:
            raise ApiError(404, "not_found", [{"path": "name", "message": f"no deployment {name!r}",
                                               "code": "not_found"}])
        require_role(request.user, deployment.project, Role.EDITOR)
        csv = "file" in request.FILES
        try:
            classes = feedback.deployment_classes(deployment)
            others = list(feedback.version_classes(deployment).values())
            blank = 0
            if csv:
                items, blank = feedback.parse_csv(request.FILES["file"], feedback.deployment_target(deployment))
                labels = feedback.parse_labels(items, classes, csv=True, others=others)
            elif isinstance(request.data, dict) and "labels" in request.data:
                labels = feedback.parse_labels(request.data["labels"], classes, others=others)
            else:
                raise feedback.FeedbackError("labels", "send {\"labels\": [...]} or a CSV file as `file`")
            stored = feedback.store_labels(deployment, labels, csv=csv)
            return Response({**stored, "blank_labels": blank} if csv else stored)
        except feedback.FeedbackError as exc:
            raise ApiError(400, "invalid", [{"path": exc.path, "message": exc.message, "code": "invalid"}]) from None
