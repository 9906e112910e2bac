"""REST API for researchers: pre-labelling, agreement figures, review and adjudication.

Each view names its roles; the logic lives in ``annotation.prelabel`` and the selectors.
"""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Adjudication, Item, Project
from annotation.prelabel import prelabel_start, prelabel_status
from annotation.review import adjudication_save, review_queue, review_threshold
from annotation.selectors import project_dashboard_cached
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
            project=project,
            created_by=request.user,
            only_failed=serializer.validated_data["only_failed"],
        )
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=StatusSerializer)
    def get(self, request, project_id: int):
        """Return how many items are pre-labelled, failed and still to do."""
        project = _project(project_id)
        return Response(self.StatusSerializer(prelabel_status(project=project)).data)


class DashboardApi(APIView):
    """Researchers: the dashboard's figures (agreement with intervals, LLM vs humans,
    pre-label acceptance, anchoring, workers by pseudonym, label distribution, item map).

    Recomputed at most every ``refresh_seconds`` while labels arrive; ``computed`` is a Unix
    time.
    """

    permission_classes = [IsResearcher]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, project_id: int):
        figures = project_dashboard_cached(project=_project(project_id))
        return Response({key: value for key, value in figures.items() if key != "version"})


class ReviewQueueApi(APIView):
    """Researchers: the complete items whose annotators disagree, least agreement first."""

    permission_classes = [IsResearcher]

    class EntrySerializer(serializers.Serializer):
        item_id = serializers.IntegerField()
        external_id = serializers.CharField()
        agreement = serializers.FloatField()
        disputed = serializers.ListField(child=serializers.CharField())

    class OutputSerializer(serializers.Serializer):
        threshold = serializers.FloatField()
        total = serializers.IntegerField()
        items = serializers.ListField(child=serializers.DictField())

    @extend_schema(
        parameters=[
            OpenApiParameter("threshold", float, description="Default: the project setting."),
            OpenApiParameter("limit", int, description="At most this many items (default 100)."),
        ],
        responses=OutputSerializer,
    )
    def get(self, request, project_id: int):
        project = _project(project_id)
        try:
            threshold = float(request.query_params.get("threshold", review_threshold()))
            limit = max(1, int(request.query_params.get("limit", 100)))
        except ValueError:
            raise ValidationError({"threshold": "threshold must be a number, limit an integer"})
        queue = review_queue(project=project, threshold=threshold)
        names = dict(
            Item.objects.filter(pk__in=[e["item_id"] for e in queue[:limit]]).values_list(
                "pk", "external_id"
            )
        )
        entries = [{**e, "external_id": names[e["item_id"]]} for e in queue[:limit]]
        return Response(
            {
                "threshold": threshold,
                "total": len(queue),
                "items": self.EntrySerializer(entries, many=True).data,
            }
        )


class AdjudicationApi(APIView):
    """Researchers: an item's final labels. PUT sets them (the same PUT again changes nothing);
    400 names each bad dimension (``labels.power``)."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        labels = serializers.DictField(child=serializers.JSONField())
        note = serializers.CharField(required=False, allow_blank=True, default="")

    class OutputSerializer(serializers.Serializer):
        item_id = serializers.IntegerField()
        labels = serializers.DictField(child=serializers.IntegerField())
        note = serializers.CharField()
        reviewer = serializers.CharField(source="reviewer.username", default=None)
        updated = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request, item_id: int):
        adjudication = get_object_or_404(
            Adjudication.objects.select_related("reviewer"), item_id=item_id
        )
        return Response(self.OutputSerializer(adjudication).data)

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def put(self, request, item_id: int):
        item = get_object_or_404(Item.objects.select_related("project__scheme"), pk=item_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        adjudication = adjudication_save(
            item=item,
            labels=serializer.validated_data["labels"],
            reviewer=request.user,
            note=serializer.validated_data["note"],
        )
        return Response(self.OutputSerializer(adjudication).data)
