"""REST API of training: start evaluator training jobs, list models, score with an evaluator."""

import uuid
from pathlib import Path

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import JobOutputSerializer
from core.jobs import job_start
from core.roles import IsAnyRole, IsResearcher
from training.jobs import TRAIN_EVALUATOR
from training.models import ModelArtifact
from training.selectors import artifacts_list, evaluator_loaded


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
        epochs = serializers.IntegerField(default=4, min_value=1, max_value=50)
        batch_size = serializers.IntegerField(default=16, min_value=1, max_value=512)

    @extend_schema(responses=ArtifactOutputSerializer(many=True))
    def get(self, request):
        artifacts = artifacts_list(kind=ModelArtifact.Kind.EVALUATOR)
        return Response(ArtifactOutputSerializer(artifacts, many=True).data)

    @extend_schema(request=InputSerializer, responses={202: JobOutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run_id = uuid.uuid4().hex[:8]
        root = Path(settings.VAR_DIR)
        upload = root / "training" / "uploads" / f"{data['name']}-{run_id}.jsonl"
        upload.parent.mkdir(parents=True, exist_ok=True)
        with upload.open("wb") as destination:
            for chunk in data["data"].chunks():
                destination.write(chunk)
        job = job_start(
            kind=TRAIN_EVALUATOR,
            created_by=request.user,
            params={
                "data": str(upload),
                "base_model": data["base_model"],
                "out": str(root / "artifacts" / "evaluators" / f"{data['name']}-{run_id}"),
                "scheme": data["scheme"],
                "epochs": data["epochs"],
                "batch_size": data["batch_size"],
            },
        )
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class EvaluatorScoreApi(APIView):
    """Any signed-in user: score (prompt, response) pairs with a registered evaluator."""

    permission_classes = [IsAnyRole]

    class InputSerializer(serializers.Serializer):
        class PairSerializer(serializers.Serializer):
            prompt = serializers.CharField(trim_whitespace=False)
            response = serializers.CharField(trim_whitespace=False)

        items = PairSerializer(many=True, allow_empty=False, max_length=512)

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
