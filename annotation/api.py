"""REST API of the annotation app: schemes, projects, import, export, the annotate loop.

Each view names its roles.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.assignment import lease_heartbeat, lease_release
from annotation.labelling import worker_may_label, worker_quality_rows
from annotation.loop import next_for_worker, submit_for_worker
from annotation.models import Item, Project
from annotation.quality import attention_checks_create, items_set_role, worker_exclude
from annotation.selectors import export_filters, project_export_lines, projects_with_counts
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
from core.roles import IsParticipant, IsResearcher
from core.services import scheme_import
from core.throttling import upload_too_large


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


# --- The annotate loop ---------------------------------------------------------------------------


def _project_for_worker(request, project_id: int) -> Project:
    """Return the project if the caller may label it (its study's participants, or staff)."""
    project = get_object_or_404(Project.objects.select_related("scheme"), pk=project_id)
    if not worker_may_label(project=project, user=request.user):
        raise PermissionDenied("You have not joined the study this project belongs to.")
    return project


class LeasedItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    prompt = serializers.CharField()
    response = serializers.CharField()
    prelabel = serializers.DictField(allow_null=True)
    dimensions = serializers.ListField(child=serializers.CharField())
    lease_expires = serializers.DateTimeField()


class NextItemApi(APIView):
    """Participants: lease the next item to label in a project (contracts: the annotate loop).

    200 ``{"item": {…}}`` leased to the caller; 200 ``{"item": null, "retry_after": s}`` when
    every slot left is leased by someone else; 204 when nothing is left for the caller.
    """

    permission_classes = [IsParticipant]

    class OutputSerializer(serializers.Serializer):
        item = LeasedItemSerializer(allow_null=True)
        retry_after = serializers.IntegerField(required=False)

    @extend_schema(responses={200: OutputSerializer, 204: None, 409: None})
    def get(self, request, project_id: int):
        # 409 on a first item before the study's earlier tasks are done (tasks are in order).
        answer = next_for_worker(project_id=project_id, worker=request.user)
        if answer.item is not None:
            return Response({"item": answer.item})
        if answer.retry_after is not None:
            response = Response({"item": None, "retry_after": answer.retry_after})
            response["Retry-After"] = str(answer.retry_after)
            return response
        return Response(status=status.HTTP_204_NO_CONTENT)


class AnnotationSubmitApi(APIView):
    """Participants: submit labels for every dimension of an item leased to them.

    201 with the annotation; 200 when the same worker already submitted it (nothing new is
    stored); 400 naming the bad field; 403 for an item not leased to the caller.
    """

    permission_classes = [IsParticipant]

    class InputSerializer(serializers.Serializer):
        labels = serializers.JSONField()
        seconds = serializers.FloatField(required=False, allow_null=True, min_value=0)
        project = serializers.IntegerField(required=False)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        item = serializers.IntegerField(source="item_id")
        labels = serializers.DictField(child=serializers.IntegerField())
        saw_prelabel = serializers.BooleanField()
        prelabel_kept = serializers.DictField(allow_null=True)
        seconds = serializers.FloatField()
        created = serializers.DateTimeField()

    @extend_schema(
        request=InputSerializer, responses={201: OutputSerializer, 200: OutputSerializer}
    )
    def post(self, request, item_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = submit_for_worker(
            item_id=item_id,
            worker=request.user,
            labels=data["labels"],
            seconds=data.get("seconds"),
            project_id=data.get("project"),
        )
        body = self.OutputSerializer(result.annotation).data
        if result.outcome is not None:
            body["feedback"] = result.outcome.feedback
            body["worker_state"] = result.outcome.state
        return Response(body, status=status.HTTP_201_CREATED if result.created else 200)


class LeaseSerializer(serializers.Serializer):
    item = serializers.IntegerField(source="item_id")
    lease_expires = serializers.DateTimeField()


class LeaseHeartbeatApi(APIView):
    """Participants: extend their lease on an item while its page is open (409 once lost)."""

    permission_classes = [IsParticipant]

    @extend_schema(request=None, responses={200: LeaseSerializer})
    def post(self, request, item_id: int):
        item = get_object_or_404(Item.objects.select_related("project"), pk=item_id)
        slot = lease_heartbeat(item=item, worker=request.user)
        return Response(LeaseSerializer(slot).data)


class LeaseReleaseApi(APIView):
    """Participants: give an item back unlabelled (it returns to the pool). Idempotent."""

    permission_classes = [IsParticipant]

    class OutputSerializer(serializers.Serializer):
        released = serializers.BooleanField()

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request, item_id: int):
        item = get_object_or_404(Item, pk=item_id)
        return Response({"released": lease_release(item=item, worker=request.user)})


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
