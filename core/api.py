"""REST API of core: who am I, studies, jobs and the LLM check. Each view names its roles."""

import uuid

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core import llm, llm_check
from core.jobs import job_cancel
from core.models import Job, Study, StudyTask
from core.roles import IsAnyRole, IsResearcher
from core.selectors import jobs_visible_to, studies_with_counts
from core.services import study_create, study_update


class MeApi(APIView):
    """Any signed-in user: who they are, their role and today's LLM budget left."""

    permission_classes = [IsAnyRole]

    class OutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        role = serializers.CharField()
        pseudonym = serializers.CharField()
        llm_budget_remaining = serializers.IntegerField(allow_null=True)

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        user = request.user
        data = {
            "username": user.username,
            "role": user.role,
            "pseudonym": user.pseudonym,
            "llm_budget_remaining": llm.budget_remaining(user),
        }
        return Response(self.OutputSerializer(data).data)


class JobOutputSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField()

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "message",
            "progress_done",
            "progress_total",
            "percent",
            "result",
            "error",
            "attempts",
            "created",
            "started",
            "finished",
        ]


class JobDetailApi(APIView):
    """The job's owner and researchers: a job's state and progress."""

    permission_classes = [IsAnyRole]

    @extend_schema(responses=JobOutputSerializer)
    def get(self, request, job_id: uuid.UUID):
        job = get_object_or_404(jobs_visible_to(user=request.user), pk=job_id)
        return Response(JobOutputSerializer(job).data)


class JobCancelApi(APIView):
    """The job's owner and researchers: ask a job to stop."""

    permission_classes = [IsAnyRole]

    @extend_schema(request=None, responses=JobOutputSerializer)
    def post(self, request, job_id: uuid.UUID):
        job = get_object_or_404(jobs_visible_to(user=request.user), pk=job_id)
        return Response(JobOutputSerializer(job_cancel(job=job)).data)


class LLMCheckStartApi(APIView):
    """Researchers: start the LLM check job (an Idempotency-Key header makes retries safe)."""

    throttle_scope = "llm"  # core.throttling.LLMThrottle

    permission_classes = [IsResearcher]

    @extend_schema(request=None, responses={202: JobOutputSerializer})
    def post(self, request):
        key = request.headers.get("Idempotency-Key")
        job = llm_check.llm_check_start(created_by=request.user, token=key)
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class StudyListCreateApi(APIView):
    """Researchers: list studies, or create one with its tasks."""

    permission_classes = [IsResearcher]

    class TaskSerializer(serializers.Serializer):
        kind = serializers.CharField()
        title = serializers.CharField()
        instructions = serializers.CharField(required=False, allow_blank=True)
        config = serializers.DictField(
            required=False,
            help_text="The task type's settings, e.g. annotation.label: {project, "
            "items_per_participant?}; moralgraph.vote: {deliberation?, votes?, answer_order?}; "
            "elicitation: {deliberation, scenario?}. A bad one is a 400 naming "
            "tasks[i].config.<field>.",
        )

    class InputSerializer(serializers.Serializer):
        slug = serializers.SlugField()
        title = serializers.CharField()
        description = serializers.CharField(required=False, allow_blank=True)
        completion_code = serializers.CharField()
        tasks = serializers.ListField(child=serializers.DictField(), required=False)

    class OutputSerializer(serializers.ModelSerializer):
        n_participants = serializers.IntegerField(default=0)
        n_completed = serializers.IntegerField(default=0)

        class Meta:
            model = Study
            fields = [
                "id",
                "slug",
                "title",
                "description",
                "completion_code",
                "is_open",
                "created",
                "n_participants",
                "n_completed",
            ]

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request):
        return Response(self.OutputSerializer(studies_with_counts(), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        tasks = []
        for index, task in enumerate(data.pop("tasks", [])):
            task_serializer = self.TaskSerializer(data=task)
            if not task_serializer.is_valid():
                return Response({f"tasks[{index}]": task_serializer.errors}, status=400)
            tasks.append(task_serializer.validated_data)
        study = study_create(created_by=request.user, tasks=tasks, **data)
        study = studies_with_counts().get(pk=study.pk)
        return Response(self.OutputSerializer(study).data, status=status.HTTP_201_CREATED)


class StudyTasksApi(APIView):
    """Researchers: a study's tasks in order (GET), or all of them replaced (PUT) until the first
    participant arrives; then a PUT is a 400 on ``tasks`` and nothing changes."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        tasks = serializers.ListField(child=serializers.DictField())

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = StudyTask
            fields = ["id", "position", "kind", "title", "instructions", "config"]

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request, slug: str):
        study = get_object_or_404(Study, slug=slug)
        return Response(self.OutputSerializer(study.tasks.all(), many=True).data)

    @extend_schema(request=InputSerializer, responses=OutputSerializer(many=True))
    def put(self, request, slug: str):
        study = get_object_or_404(Study, slug=slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tasks = []
        for index, task in enumerate(serializer.validated_data["tasks"]):
            task_serializer = StudyListCreateApi.TaskSerializer(data=task)
            if not task_serializer.is_valid():
                return Response({f"tasks[{index}]": task_serializer.errors}, status=400)
            tasks.append(task_serializer.validated_data)
        study_update(study=study, tasks=tasks)
        return Response(self.OutputSerializer(study.tasks.all(), many=True).data)
