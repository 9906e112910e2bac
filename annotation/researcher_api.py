"""REST API for researchers: schemes, projects, imports and exports, workers and quality
settings, pre-labelling, agreement figures, review and adjudication.

Each view names its roles; the logic lives in the services, ``annotation.prelabel`` and the
selectors.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.labelling import worker_quality_rows
from annotation.models import Adjudication, Item, Project
from annotation.prelabel import prelabel_start, prelabel_status
from annotation.quality import attention_checks_create, items_set_role, worker_exclude
from annotation.review import adjudication_save, review_queue, review_threshold
from annotation.selectors import (
    export_filters,
    project_dashboard_cached,
    project_export_lines,
    projects_with_counts,
)
from annotation.services import (
    DEFAULT_SCHEME,
    ItemImportRejected,
    item_import,
    project_create,
    project_settings_update,
)
from annotation.uploads import import_job_start
from core.api import JobOutputSerializer
from core.jsonl import text_chunks
from core.models import Study, User, ValueScheme
from core.roles import IsResearcher
from core.services import scheme_import
from core.throttling import upload_too_large


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


class NDJSONRenderer(BaseRenderer):
    """Let clients ask for ``application/x-ndjson``; errors are still rendered as JSON."""

    media_type = "application/x-ndjson"
    format = "jsonl"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)


class SchemeListCreateApi(APIView):
    """Researchers: list value schemes, or upload one as JSON."""

    permission_classes = [IsResearcher]

    class DimensionSerializer(serializers.Serializer):
        key = serializers.CharField()
        name = serializers.CharField()
        definition = serializers.CharField()
        examples = serializers.ListField(child=serializers.CharField())

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        key = serializers.CharField()
        name = serializers.CharField()
        description = serializers.CharField()
        dimensions = serializers.SerializerMethodField()

        def get_dimensions(self, scheme) -> list[dict]:
            return SchemeListCreateApi.DimensionSerializer(
                scheme.dimensions.order_by("position", "pk"), many=True
            ).data

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request):
        schemes = ValueScheme.objects.prefetch_related("dimensions")
        return Response(self.OutputSerializer(schemes, many=True).data)

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OutputSerializer})
    def post(self, request):
        scheme = scheme_import(data=request.data)
        return Response(self.OutputSerializer(scheme).data, status=status.HTTP_201_CREATED)


class ProjectListCreateApi(APIView):
    """Researchers: list annotation projects, or create one."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        slug = serializers.SlugField(max_length=64)
        scheme = serializers.SlugRelatedField(
            slug_field="key", queryset=ValueScheme.objects.all(), default=None
        )
        instructions = serializers.CharField(required=False, allow_blank=True, default="")
        overlap = serializers.IntegerField(min_value=1, default=3)
        prelabel = serializers.BooleanField(default=False)
        study = serializers.SlugRelatedField(
            slug_field="slug", queryset=Study.objects.all(), required=False, allow_null=True
        )
        text_format = serializers.ChoiceField(
            choices=Project.TextFormat.choices,
            default=Project.TextFormat.PLAIN,
            help_text="How annotators see items: plain text exactly as imported, or markdown.",
        )

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        slug = serializers.CharField()
        scheme = serializers.CharField(source="scheme.key")
        instructions = serializers.CharField()
        overlap = serializers.IntegerField()
        prelabel = serializers.BooleanField()
        text_format = serializers.CharField()
        study = serializers.CharField(source="study.slug", allow_null=True, default=None)
        n_items = serializers.IntegerField(default=0)
        created = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request):
        projects = projects_with_counts().select_related("study")
        return Response(self.OutputSerializer(projects, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data["scheme"] is None:
            data["scheme"] = get_object_or_404(ValueScheme, key=DEFAULT_SCHEME)
        project = project_create(created_by=request.user, **data)
        return Response(self.OutputSerializer(project).data, status=status.HTTP_201_CREATED)


class ImportReportSerializer(serializers.Serializer):
    stored = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    invalid = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.CharField())


class ItemImportApi(APIView):
    """Researchers: import items from a JSONL or CSV upload (all-or-nothing unless skip_invalid).

    400 with the report (every bad line as ``line N: field: what is wrong``) when nothing was
    stored. A file over ``VALUELAB_IMPORT_INLINE_MB`` is imported by a job, as on the page:
    202 ``{"job": {...}}`` (follow ``/api/jobs/<id>/``). Over ``VALUELAB_MAX_UPLOAD_MB``: 413.
    """

    permission_classes = [IsResearcher]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()
        skip_invalid = serializers.BooleanField(default=False)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={200: ImportReportSerializer, 400: ImportReportSerializer},
    )
    def post(self, request, project_id: int):
        project = get_object_or_404(Project.objects.select_related("scheme"), pk=project_id)
        too_large = upload_too_large(request)
        if too_large:
            return Response({"file": [too_large]}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        if upload.size > settings.VALUELAB_IMPORT_INLINE_MB * 1024 * 1024:
            job = import_job_start(
                project=project,
                upload=upload,
                skip_invalid=serializer.validated_data["skip_invalid"],
                created_by=request.user,
                token=request.headers.get("Idempotency-Key", "")[:64],
            )
            return Response({"job": JobOutputSerializer(job).data}, status=status.HTTP_202_ACCEPTED)
        try:
            report = item_import(
                project=project,
                stream=upload.open("rb"),
                filename=upload.name or "",
                skip_invalid=serializer.validated_data["skip_invalid"],
            )
        except ItemImportRejected as rejected:
            return Response(rejected.report.as_dict(), status=status.HTTP_400_BAD_REQUEST)
        return Response(ImportReportSerializer(report.as_dict()).data)


class ProjectExportApi(APIView):
    """Researchers: the project's annotations as streamed JSON lines (contracts.md)."""

    permission_classes = [IsResearcher]
    renderer_classes = [JSONRenderer, NDJSONRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("complete_only", bool, description="Only complete items."),
            OpenApiParameter("adjudicated_only", bool, description="Only adjudicated items."),
            OpenApiParameter(
                "labelled_only", bool, description="Leave out items nobody has labelled."
            ),
            OpenApiParameter(
                "since", str, description="Items annotated on or after (ISO date or date-time)."
            ),
            OpenApiParameter("until", str, description="… and before this (exclusive)."),
        ],
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.STR, description="One JSON object per item."
            )
        },
    )
    def get(self, request, project_id: int):
        project = get_object_or_404(Project.objects.select_related("scheme"), pk=project_id)
        filters = export_filters(request.query_params)  # a bad date: 400 naming the field
        response = StreamingHttpResponse(
            text_chunks(project_export_lines(project=project, **filters)),
            content_type="application/x-ndjson; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{project.slug}.jsonl"'
        return response


class WorkerExcludeApi(APIView):
    """Researchers: exclude a worker (by pseudonym) from a project; their slots re-open."""

    permission_classes = [IsResearcher]

    class OutputSerializer(serializers.Serializer):
        worker = serializers.CharField()
        reopened_slots = serializers.IntegerField()

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request, project_id: int, pseudonym: str):
        project = get_object_or_404(Project, pk=project_id)
        worker = get_object_or_404(User, pseudonym=pseudonym)
        reopened = worker_exclude(project=project, worker=worker)
        return Response({"worker": pseudonym, "reopened_slots": reopened})


class WorkerQualityApi(APIView):
    """Researchers: each worker's state, counts, flags and gold accuracy per dimension."""

    permission_classes = [IsResearcher]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_id: int):
        project = get_object_or_404(Project.objects.select_related("scheme"), pk=project_id)
        return Response(worker_quality_rows(project=project))


SETTINGS_FIELDS = ["text_format", "lease_seconds", "quota_per_worker", *Project.QUALITY_FIELDS]


class ProjectSettingsApi(APIView):
    """Researchers: read or change a project's labelling and quality settings."""

    permission_classes = [IsResearcher]

    class SettingsSerializer(serializers.ModelSerializer):
        class Meta:
            model = Project
            fields = ["overlap", *SETTINGS_FIELDS]

    @extend_schema(responses=SettingsSerializer)
    def get(self, request, project_id: int):
        project = get_object_or_404(Project, pk=project_id)
        return Response(self.SettingsSerializer(project).data)

    @extend_schema(request=SettingsSerializer, responses=SettingsSerializer)
    def patch(self, request, project_id: int):
        project = get_object_or_404(Project, pk=project_id)
        serializer = self.SettingsSerializer(project, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        project = project_settings_update(project=project, **serializer.validated_data)
        return Response(self.SettingsSerializer(project).data)


class ItemRoleApi(APIView):
    """Researchers: make items gold or training items (or plain items again).

    Choose them by ``external_ids``, or ask for ``count`` unlabelled items with reference labels.
    """

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=["task", "gold", "training"])
        external_ids = serializers.ListField(child=serializers.CharField(), required=False)
        count = serializers.IntegerField(required=False, min_value=1)

    class OutputSerializer(serializers.Serializer):
        changed = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request, project_id: int):
        project = get_object_or_404(Project, pk=project_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changed = items_set_role(project=project, **serializer.validated_data)
        return Response({"changed": changed})


class AttentionChecksApi(APIView):
    """Researchers: add attention checks (items that ask for one exact label). Idempotent."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        n = serializers.IntegerField(min_value=1, max_value=50, default=3)

    class OutputSerializer(serializers.Serializer):
        items = serializers.ListField(child=serializers.CharField())

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request, project_id: int):
        project = get_object_or_404(Project.objects.select_related("scheme"), pk=project_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        items = attention_checks_create(project=project, n=serializer.validated_data["n"])
        return Response({"items": [item.external_id for item in items]})
