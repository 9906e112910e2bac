"""REST API for researchers of training: evaluator training jobs, models, scoring with one."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import JobOutputSerializer
from core.roles import IsResearcher
from training.alignment import DEFAULTS as D
from training.alignment import DISTANCES, GUARDS
from training.models import ModelArtifact, Target
from training.selectors import artifacts_list, evaluator_loaded
from training.services import (
    DEFAULT_DESIGN,
    DESIGNS,
    alignment_start,
    evaluator_train_start,
    job_start_with_file,
    project_score_start,
    save_upload,
)


class ArtifactOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelArtifact
        fields = [
            "id",
            "kind",
            "name",
            "scheme",
            "base_model",
            "dataset_hash",
            "card",
            "job",
            "created",
        ]


class EvaluatorListCreateApi(APIView):
    """Researchers: list trained evaluators, or start training one from an uploaded JSONL."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        name = serializers.SlugField(max_length=80)
        base_model = serializers.CharField(max_length=500)
        data = serializers.FileField(help_text="annotation export or Value FULCRA JSONL")
        scheme = serializers.CharField(default="schwartz10")
        epochs = serializers.IntegerField(
            default=None,
            allow_null=True,
            min_value=1,
            max_value=200,
            help_text="default: the design's (60 frozen-encoder, 4 one-pass, 2 value-conditioned)",
        )
        batch_size = serializers.IntegerField(default=16, min_value=1, max_value=512)
        design = serializers.ChoiceField(choices=list(DESIGNS), default=DEFAULT_DESIGN)
        skip_invalid = serializers.BooleanField(
            default=False, help_text="train on the readable lines; the run lists the rest"
        )

    @extend_schema(responses=ArtifactOutputSerializer(many=True))
    def get(self, request):
        artifacts = artifacts_list(kind=ModelArtifact.Kind.EVALUATOR)
        return Response(ArtifactOutputSerializer(artifacts, many=True).data)

    @extend_schema(request=InputSerializer, responses={202: JobOutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = job_start_with_file(
            write=lambda: save_upload(data["data"], stem=data["name"]),
            start=lambda upload: evaluator_train_start(
                created_by=request.user,
                name=data["name"],
                base_model=data["base_model"],
                data_file=upload,
                scheme=data["scheme"],
                epochs=data["epochs"],
                batch_size=data["batch_size"],
                design=data["design"],
                skip_invalid=data["skip_invalid"],
                source={"upload": data["data"].name},
            ),
        )
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


SCORE_MAX_ITEMS = 64


class EvaluatorScoreApi(APIView):
    """Researchers (and admins): score a few (prompt, response) pairs with a registered evaluator.

    It runs on the web worker, so a request holds at most ``SCORE_MAX_ITEMS`` pairs; a whole
    project is scored as a job (``ProjectScoreApi``).
    """

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        class PairSerializer(serializers.Serializer):
            prompt = serializers.CharField(trim_whitespace=False)
            response = serializers.CharField(trim_whitespace=False)

        items = PairSerializer(
            many=True,
            allow_empty=False,
            max_length=SCORE_MAX_ITEMS,
            error_messages={
                "max_length": f"items: at most {SCORE_MAX_ITEMS} pairs a request; "
                "score a whole project with a job instead."
            },
        )

    class OutputSerializer(serializers.Serializer):
        labels = serializers.DictField(child=serializers.IntegerField())
        expected = serializers.DictField(child=serializers.FloatField())

    @extend_schema(request=InputSerializer, responses=OutputSerializer(many=True))
    def post(self, request, artifact_id: int):
        artifact = get_object_or_404(
            ModelArtifact, pk=artifact_id, kind=ModelArtifact.Kind.EVALUATOR
        )
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pairs = [(item["prompt"], item["response"]) for item in serializer.validated_data["items"]]
        scores = evaluator_loaded(artifact).score(pairs)
        return Response(self.OutputSerializer(scores, many=True).data)


class AlignmentStartApi(APIView):
    """Researchers: align a policy to a target (BaseAlign, GRPO) as a job on the training queue."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        name = serializers.SlugField(max_length=80)
        evaluator = serializers.PrimaryKeyRelatedField(
            queryset=ModelArtifact.objects.filter(kind=ModelArtifact.Kind.EVALUATOR)
        )
        policy = serializers.CharField(max_length=500)
        target = serializers.PrimaryKeyRelatedField(queryset=Target.objects.all())
        prompts = serializers.FileField(help_text='JSONL, {"prompt": "…"} a line')
        steps = serializers.IntegerField(default=D.steps, min_value=1, max_value=10_000)
        num_generations = serializers.IntegerField(
            default=D.num_generations, min_value=2, max_value=64
        )
        max_completion_length = serializers.IntegerField(
            default=D.max_completion_length, min_value=4, max_value=2048
        )
        learning_rate = serializers.FloatField(
            default=D.learning_rate, min_value=1e-7, max_value=1e-2
        )
        report_prompts = serializers.IntegerField(
            default=D.report_prompts, min_value=1, max_value=1000
        )
        distance = serializers.ChoiceField(choices=list(DISTANCES), default=D.distance)
        guard = serializers.ChoiceField(choices=list(GUARDS), default=D.guard)
        lora = serializers.BooleanField(default=True)

    @extend_schema(request=InputSerializer, responses={202: JobOutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        prompts, evaluator_artifact = data.pop("prompts"), data.pop("evaluator")
        job = job_start_with_file(
            write=lambda: save_upload(prompts, stem=f"{data['name']}-prompts"),
            start=lambda upload: alignment_start(
                created_by=request.user,
                evaluator_artifact=evaluator_artifact,
                prompts_file=upload,
                **data,
            ),
        )
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ProjectScoreApi(APIView):
    """Researchers: pre-label every unlabelled item of an annotation project with an evaluator."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        project = serializers.IntegerField()
        replace = serializers.BooleanField(default=False)
        batch_size = serializers.IntegerField(default=32, min_value=1, max_value=512)

    @extend_schema(request=InputSerializer, responses={202: JobOutputSerializer})
    def post(self, request, artifact_id: int):
        from annotation.models import Project

        artifact = get_object_or_404(
            ModelArtifact, pk=artifact_id, kind=ModelArtifact.Kind.EVALUATOR
        )
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = get_object_or_404(Project.objects.select_related("scheme"), pk=data["project"])
        job = project_score_start(
            created_by=request.user,
            artifact=artifact,
            project=project,
            replace=data["replace"],
            batch_size=data["batch_size"],
        )
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)
