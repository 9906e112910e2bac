"""REST API of the annotation app: schemes, projects, import, export. Each view names its roles."""

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Project, ValueScheme
from annotation.selectors import project_export_lines, projects_with_counts
from annotation.services import (
    DEFAULT_SCHEME,
    ItemImportRejected,
    item_import,
    project_create,
    scheme_import,
)
from core.models import Study
from core.roles import IsResearcher


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

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        slug = serializers.CharField()
        scheme = serializers.CharField(source="scheme.key")
        instructions = serializers.CharField()
        overlap = serializers.IntegerField()
        prelabel = serializers.BooleanField()
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
    stored.
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
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
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
        parameters=[OpenApiParameter("complete_only", bool, description="Only complete items.")],
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.STR, description="One JSON object per item."
            )
        },
    )
    def get(self, request, project_id: int):
        project = get_object_or_404(Project.objects.select_related("scheme"), pk=project_id)
        complete_only = request.query_params.get("complete_only", "").lower() in (
            "1",
            "true",
            "yes",
        )
        response = StreamingHttpResponse(
            project_export_lines(project=project, complete_only=complete_only),
            content_type="application/x-ndjson; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{project.slug}.jsonl"'
        return response
