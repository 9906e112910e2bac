"""Researcher API: value schemes, projects and their labelling and quality settings."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Project
from annotation.researcher_api.common import project_or_404
from annotation.selectors import projects_with_counts
from annotation.services import DEFAULT_SCHEME, project_create, project_settings_update
from core.models import Study, ValueScheme
from core.roles import IsResearcher
from core.services import scheme_import


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
        project = project_or_404(project_id)
        return Response(self.SettingsSerializer(project).data)

    @extend_schema(request=SettingsSerializer, responses=SettingsSerializer)
    def patch(self, request, project_id: int):
        project = project_or_404(project_id)
        serializer = self.SettingsSerializer(project, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        project = project_settings_update(project=project, **serializer.validated_data)
        return Response(self.SettingsSerializer(project).data)
