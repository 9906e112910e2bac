"""Researcher API: the quality of a project's labels: dashboard figures, the review queue and
adjudication, each worker's quality and their exclusion."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.labelling import worker_quality_rows
from annotation.models import Adjudication, Item
from annotation.quality import worker_exclude
from annotation.researcher_api.common import project_or_404
from annotation.review import (
    adjudication_save,
    review_queue,
    review_queue_shown,
    review_threshold,
)
from annotation.selectors import project_dashboard_cached
from core.models import User
from core.roles import IsResearcher


class DashboardApi(APIView):
    """Researchers: the dashboard's figures (agreement with intervals, LLM vs humans,
    pre-label acceptance, anchoring, workers by pseudonym, label distribution, item map).

    Recomputed at most every ``refresh_seconds`` while labels arrive; ``computed`` is a Unix
    time.
    """

    permission_classes = [IsResearcher]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, project_id: int):
        figures = project_dashboard_cached(project=project_or_404(project_id))
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
        project = project_or_404(project_id)
        try:
            threshold = float(request.query_params.get("threshold", review_threshold()))
            limit = max(1, int(request.query_params.get("limit", 100)))
        except ValueError:
            raise ValidationError({"threshold": "threshold must be a number, limit an integer"})
        queue = review_queue(project=project, threshold=threshold)
        entries = [
            {**entry, "external_id": entry["item"].external_id}
            for entry in review_queue_shown(queue=queue, limit=limit)
        ]
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


class WorkerQualityApi(APIView):
    """Researchers: each worker's state, counts, flags and gold accuracy per dimension."""

    permission_classes = [IsResearcher]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_id: int):
        project = project_or_404(project_id)
        return Response(worker_quality_rows(project=project))


class WorkerExcludeApi(APIView):
    """Researchers: exclude a worker (by pseudonym) from a project; their slots re-open."""

    permission_classes = [IsResearcher]

    class OutputSerializer(serializers.Serializer):
        worker = serializers.CharField()
        reopened_slots = serializers.IntegerField()

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request, project_id: int, pseudonym: str):
        project = project_or_404(project_id)
        worker = get_object_or_404(User, pseudonym=pseudonym)
        reopened = worker_exclude(project=project, worker=worker)
        return Response({"worker": pseudonym, "reopened_slots": reopened})
