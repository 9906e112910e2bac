"""REST API for researchers of evaluation: subjects, item pools, runs (as jobs), profiles."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Project
from core.api import JobOutputSerializer
from core.roles import IsResearcher
from evaluation import selectors, services
from evaluation.models import ItemPool, Run, Subject
from training.models import ModelArtifact, Target


class SubjectOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Subject
        fields = ["id", "name", "kind", "endpoint", "model", "policy_path", "generation", "created"]


class SubjectListCreateApi(APIView):
    """Researchers: list subjects (aligned policies registered before/after on the way), or add
    one (an endpoint + model, or a policy folder)."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False, default="")
        kind = serializers.ChoiceField(choices=Subject.Kind.choices)
        endpoint = serializers.CharField(max_length=500, required=False, default="")
        model = serializers.CharField(max_length=200, required=False, default="")
        api_key_env = serializers.CharField(max_length=100, required=False, default="")
        policy_path = serializers.CharField(max_length=500, required=False, default="")
        generation = serializers.DictField(required=False, default=dict)

    @extend_schema(responses=SubjectOutputSerializer(many=True))
    def get(self, request):
        services.subjects_for_new_policies(created_by=request.user)
        return Response(SubjectOutputSerializer(selectors.subjects_list(), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: SubjectOutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subject = services.subject_create(created_by=request.user, **serializer.validated_data)
        return Response(SubjectOutputSerializer(subject).data, status=status.HTTP_201_CREATED)


class PoolOutputSerializer(serializers.ModelSerializer):
    n_items = serializers.IntegerField(read_only=True)

    class Meta:
        model = ItemPool
        fields = ["id", "name", "version", "provenance", "source", "n_items", "created"]


class PoolListCreateApi(APIView):
    """Researchers: list item pools, or import a JSONL/CSV file of prompts as a new version."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False, default="")
        file = serializers.FileField(help_text='JSONL of {"prompt", "id"?, "value"?} or CSV')
        skip_invalid = serializers.BooleanField(default=False)

    @extend_schema(responses=PoolOutputSerializer(many=True))
    def get(self, request):
        return Response(PoolOutputSerializer(selectors.pools_list(), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: PoolOutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        pool, skipped = services.pool_import(
            name=data["name"],
            data=data["file"].read(),
            filename=data["file"].name,
            skip_invalid=data["skip_invalid"],
            created_by=request.user,
        )
        pool = selectors.pools_list().get(pk=pool.pk)
        body = PoolOutputSerializer(pool).data | {"skipped": skipped}
        return Response(body, status=status.HTTP_201_CREATED)


class PoolFromProjectApi(APIView):
    """Researchers: take an annotation project's distinct prompts as a new pool version."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        project = serializers.SlugField(help_text="The annotation project's slug.")
        name = serializers.CharField(max_length=200, required=False, default="")

    @extend_schema(request=InputSerializer, responses={201: PoolOutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = get_object_or_404(Project, slug=data["project"])
        pool = services.pool_from_project(
            project=project, name=data["name"], created_by=request.user
        )
        pool = selectors.pools_list().get(pk=pool.pk)
        return Response(PoolOutputSerializer(pool).data, status=status.HTTP_201_CREATED)


class RunOutputSerializer(serializers.ModelSerializer):
    job = JobOutputSerializer(read_only=True)
    profile = serializers.SerializerMethodField()

    def get_profile(self, run: Run) -> dict:
        """Return the profile, its values in scheme order (PostgreSQL's jsonb keeps none)."""
        profile = dict(run.profile)
        if "values" in profile:
            order = profile.get("dimensions") or list(profile["values"])
            profile["values"] = {key: profile["values"][key] for key in order}
        return profile

    class Meta:
        model = Run
        fields = [
            "id",
            "subject",
            "pool",
            "evaluator_path",
            "scheme",
            "status",
            "message",
            "n_items",
            "n_scored",
            "n_failed",
            "calls_made",
            "max_calls",
            "profile",
            "job",
            "created",
        ]


class RunListCreateApi(APIView):
    """Researchers: list runs, or start one (subject × pool × evaluator) as a job."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        subject = serializers.PrimaryKeyRelatedField(queryset=Subject.objects.all())
        pool = serializers.PrimaryKeyRelatedField(queryset=ItemPool.objects.all())
        evaluator = serializers.PrimaryKeyRelatedField(
            queryset=ModelArtifact.objects.filter(kind=ModelArtifact.Kind.EVALUATOR)
        )
        max_calls = serializers.IntegerField(required=False, min_value=1, allow_null=True)

    @extend_schema(responses=RunOutputSerializer(many=True))
    def get(self, request):
        return Response(RunOutputSerializer(selectors.runs_list()[:200], many=True).data)

    @extend_schema(request=InputSerializer, responses={202: RunOutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run = services.run_create(
            subject=data["subject"],
            pool=data["pool"],
            evaluator_path=data["evaluator"].path,
            max_calls=data.get("max_calls"),
            created_by=request.user,
        )
        services.run_start(run=run, created_by=request.user)
        run.refresh_from_db()
        return Response(RunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class RunDetailApi(APIView):
    """Researchers: a run's state and profile; with ``?target=<id>`` its alignment to it."""

    permission_classes = [IsResearcher]

    @extend_schema(responses=RunOutputSerializer)
    def get(self, request, run_id: int):
        run = get_object_or_404(selectors.runs_list(), pk=run_id)
        body = RunOutputSerializer(run).data
        target_id = request.query_params.get("target")
        if target_id:
            target = get_object_or_404(Target, pk=target_id)
            body["alignment"] = services.run_target_alignment(run=run, target=target)
        return Response(body)


class RunResumeApi(APIView):
    """Researchers: start a paused, failed or cancelled run again (it continues where it
    stopped); a run already queued or running is left as it is (202 either way)."""

    permission_classes = [IsResearcher]

    @extend_schema(request=None, responses={202: RunOutputSerializer})
    def post(self, request, run_id: int):
        run = get_object_or_404(selectors.runs_list(), pk=run_id)
        services.run_start(run=run, created_by=request.user)
        run.refresh_from_db()
        return Response(RunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class RunCancelApi(APIView):
    """Researchers: ask a run's job to stop; the answers so far are kept."""

    permission_classes = [IsResearcher]

    @extend_schema(request=None, responses={202: RunOutputSerializer})
    def post(self, request, run_id: int):
        run = services.run_cancel(run=get_object_or_404(selectors.runs_list(), pk=run_id))
        return Response(RunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)
