"""REST API for researchers: pre-labelling, agreement figures, review and adjudication.

Each view names its roles; the logic lives in ``annotation.prelabel`` and the selectors.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Project
from annotation.prelabel import prelabel_start, prelabel_status
from core.api import JobOutputSerializer
from core.roles import IsResearcher


def _project(project_id: int) -> Project:
    return get_object_or_404(Project.objects.select_related("scheme", "study"), pk=project_id)


class PrelabelStartApi(APIView):
    """Researchers: start pre-labelling a project's items with the LLM; 202 with the job.

    ``only_failed`` re-runs only the items whose last attempt failed. While a pre-label job of the
    project is queued or running, that job is returned instead of a new one.
    """

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        only_failed = serializers.BooleanField(default=False)

    class StatusSerializer(serializers.Serializer):
        items = serializers.IntegerField()
        labelled = serializers.IntegerField()
        failed = serializers.IntegerField()
        pending = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses={202: JobOutputSerializer})
    def post(self, request, project_id: int):
        project = _project(project_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = prelabel_start(
            project=project, user=request.user, only_failed=serializer.validated_data["only_failed"]
        )
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=StatusSerializer)
    def get(self, request, project_id: int):
        """Return how many items are pre-labelled, failed and still to do."""
        project = _project(project_id)
        return Response(self.StatusSerializer(prelabel_status(project=project)).data)
