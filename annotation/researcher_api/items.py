"""Researcher API: a project's items: import, export, roles (gold, training), attention checks
and pre-labelling by the LLM."""

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.prelabel import prelabel_start
from annotation.quality import ITEM_ROLES, attention_checks_create, items_set_role
from annotation.researcher_api.common import project_or_404
from annotation.selectors import export_filters, prelabel_status, project_export_lines
from annotation.services import ItemImportRejected, item_import
from annotation.uploads import import_job_start, upload_imports_inline
from core.api import JobOutputSerializer
from core.jsonl import text_chunks
from core.roles import IsResearcher
from core.throttling import upload_too_large


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
        project = project_or_404(project_id)
        too_large = upload_too_large(request)
        if too_large:
            return Response({"file": [too_large]}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        if not upload_imports_inline(upload):
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


class NDJSONRenderer(BaseRenderer):
    """Let clients ask for ``application/x-ndjson``; errors are still rendered as JSON."""

    media_type = "application/x-ndjson"
    format = "jsonl"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)


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
        project = project_or_404(project_id)
        filters = export_filters(request.query_params)  # a bad date: 400 naming the field
        response = StreamingHttpResponse(
            text_chunks(project_export_lines(project=project, **filters)),
            content_type="application/x-ndjson; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{project.slug}.jsonl"'
        return response


class ItemRoleApi(APIView):
    """Researchers: make items gold or training items (or plain items again).

    Choose them by ``external_ids``, or ask for ``count`` unlabelled items with reference labels.
    """

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=ITEM_ROLES)
        external_ids = serializers.ListField(child=serializers.CharField(), required=False)
        count = serializers.IntegerField(required=False, min_value=1)

    class OutputSerializer(serializers.Serializer):
        changed = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request, project_id: int):
        project = project_or_404(project_id)
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
        project = project_or_404(project_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        items = attention_checks_create(project=project, n=serializer.validated_data["n"])
        return Response({"items": [item.external_id for item in items]})


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
        project = project_or_404(project_id)
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
        project = project_or_404(project_id)
        return Response(self.StatusSerializer(prelabel_status(project=project)).data)
