"""REST API for researchers: deliberations, scenarios, contexts, de-duplication, grades.

Mounted under /api/elicitation/researcher/. Every view is for researchers (and admins) only; the
same services as the researcher pages do the work. Job-starting routes answer 202 with the job
and honour an ``Idempotency-Key`` header, so a retried request starts one job.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import JobOutputSerializer
from core.roles import IsResearcher
from elicitation import contexts as context_proposals
from elicitation import dedup, grading
from elicitation.api import CardSerializer
from elicitation.models import ContextProposal, Deliberation, Scenario, ValuesCard
from elicitation.selectors import card_as_contract
from elicitation.services.deliberations import (
    context_include,
    deliberation_create,
    scenario_include,
)


def _deliberation(name: str) -> Deliberation:
    return get_object_or_404(Deliberation, name=name)


def _key(request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    return f"{request.user.pk}:{key}" if key else None


def _started(job) -> Response:
    return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class DeliberationCreateApi(APIView):
    """Researchers: create a deliberation (the same name and title again returns it, 200)."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        name = serializers.SlugField(max_length=64)
        title = serializers.CharField(max_length=200)
        welcome_text = serializers.CharField(required=False, allow_blank=True, default="")

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Deliberation
            fields = ["id", "name", "title", "welcome_text", "created"]

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        existing = Deliberation.objects.filter(name=data["name"], title=data["title"]).first()
        if existing is not None:
            return Response(self.OutputSerializer(existing).data)
        deliberation = deliberation_create(**data)
        return Response(self.OutputSerializer(deliberation).data, status=status.HTTP_201_CREATED)


class ScenarioCreateApi(APIView):
    """Researchers: add a scenario (the same question again returns it, 200)."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        question = serializers.CharField(max_length=2000)
        seed_message = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=4000
        )

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Scenario
            fields = ["id", "question", "seed_message", "created"]

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request, name: str):
        deliberation = _deliberation(name)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        scenario, created = scenario_include(
            deliberation=deliberation,
            question=serializer.validated_data["question"],
            seed_message=serializer.validated_data["seed_message"],
        )
        return Response(
            self.OutputSerializer(scenario).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ContextCreateApi(APIView):
    """Researchers: type in a moral context, optionally for one scenario (idempotent)."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(max_length=300)
        scenario = serializers.IntegerField(required=False, allow_null=True)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        text = serializers.CharField()
        scenarios = serializers.ListField(child=serializers.IntegerField())

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request, name: str):
        deliberation = _deliberation(name)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        scenario_id = serializer.validated_data.get("scenario")
        scenario = (
            get_object_or_404(Scenario, pk=scenario_id, deliberation=deliberation)
            if scenario_id
            else None
        )
        context, created = context_include(
            deliberation=deliberation, text=serializer.validated_data["text"], scenario=scenario
        )
        data = {
            "id": context.pk,
            "text": context.text,
            "scenarios": list(context.scenarios.values_list("pk", flat=True)),
        }
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ContextProposeApi(APIView):
    """Researchers: start a job in which the LLM proposes contexts for a scenario."""

    permission_classes = [IsResearcher]

    @extend_schema(request=None, responses={202: JobOutputSerializer})
    def post(self, request, scenario_id: int):
        scenario = get_object_or_404(Scenario, pk=scenario_id)
        job = context_proposals.contexts_propose_start(
            scenario=scenario, created_by=request.user, token=_key(request) or ""
        )
        return _started(job)


class ProposalSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContextProposal
        fields = [
            "id",
            "text",
            "scenario",
            "status",
            "prompt_version",
            "similar_to",
            "similarity",
            "context",
            "created",
        ]


class ContextProposalListApi(APIView):
    """Researchers: the deliberation's context proposals (``?status=pending`` filters)."""

    permission_classes = [IsResearcher]

    @extend_schema(responses=ProposalSerializer(many=True))
    def get(self, request, name: str):
        proposals = ContextProposal.objects.filter(deliberation=_deliberation(name))
        if request.query_params.get("status"):
            proposals = proposals.filter(status=request.query_params["status"])
        return Response(ProposalSerializer(proposals, many=True).data)


class ContextProposalDecideApi(APIView):
    """Researchers: approve (it becomes a context) or reject a proposed context."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        approve = serializers.BooleanField()

    @extend_schema(request=InputSerializer, responses=ProposalSerializer)
    def post(self, request, proposal_id: int):
        proposal = get_object_or_404(ContextProposal, pk=proposal_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proposal = context_proposals.context_proposal_decide(
            proposal=proposal,
            researcher=request.user,
            approve=serializer.validated_data["approve"],
        )
        return Response(ProposalSerializer(proposal).data)


# --- de-duplication -----------------------------------------------------------------------------


class DedupStartApi(APIView):
    """Researchers: start de-duplicating the deliberation's new cards."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        threshold = serializers.FloatField(
            required=False, allow_null=True, min_value=0.05, max_value=1.0
        )

    @extend_schema(request=InputSerializer, responses={202: JobOutputSerializer})
    def post(self, request, name: str):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = dedup.dedup_start(
            deliberation=_deliberation(name),
            created_by=request.user,
            threshold=serializer.validated_data.get("threshold"),
            token=_key(request),
        )
        return _started(job)


class ClusterSerializer(serializers.Serializer):
    class MemberSerializer(serializers.Serializer):
        card = serializers.DictField()
        similarity = serializers.FloatField(allow_null=True)

    canonical = serializers.DictField()
    size = serializers.IntegerField()
    members = MemberSerializer(many=True)


class ClusterListApi(APIView):
    """Researchers: the deliberation's clusters, biggest first (``?min_size=2`` filters)."""

    permission_classes = [IsResearcher]

    @extend_schema(responses=ClusterSerializer(many=True))
    def get(self, request, name: str):
        try:
            min_size = max(1, int(request.query_params.get("min_size", 1)))
        except ValueError:
            return Response({"min_size": ["Give a whole number."]}, status=400)
        clusters = dedup.clusters_for_deliberation(
            deliberation=_deliberation(name), min_size=min_size
        )
        data = [
            {
                "canonical": card_as_contract(cluster.canonical),
                "size": cluster.size,
                "members": [
                    {"card": card_as_contract(card), "similarity": similarity}
                    for card, similarity in cluster.members
                ],
            }
            for cluster in clusters
        ]
        return Response(ClusterSerializer(data, many=True).data)


class DecisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    card = serializers.IntegerField(source="card_id")
    other = serializers.IntegerField(source="other_id", allow_null=True)
    action = serializers.CharField()
    source = serializers.CharField()
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    reason = serializers.CharField()
    similarity = serializers.FloatField(allow_null=True)
    prompt_version = serializers.CharField()
    created = serializers.DateTimeField()


class DecisionListApi(APIView):
    """Researchers: every de-duplication decision of the deliberation, newest first."""

    permission_classes = [IsResearcher]

    @extend_schema(responses=DecisionSerializer(many=True))
    def get(self, request, name: str):
        decisions = dedup.dedup_decisions(deliberation=_deliberation(name))
        return Response(DecisionSerializer(decisions, many=True).data)


class _CardDecisionApi(APIView):
    """A researcher's decision on one card's cluster, with a reason; ``card_and_input`` reads
    the card and the validated body."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=1000, allow_blank=True)

    def card_and_input(self, request, card_id: int) -> tuple[ValuesCard, dict]:
        card = get_object_or_404(ValuesCard, pk=card_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return card, serializer.validated_data


class CardSplitApi(_CardDecisionApi):
    """Researchers: take a card out of its cluster, with a reason (idempotent)."""

    @extend_schema(request=_CardDecisionApi.InputSerializer, responses=CardSerializer)
    def post(self, request, card_id: int):
        card, data = self.card_and_input(request, card_id)
        card = dedup.card_split(card=card, researcher=request.user, reason=data["reason"])
        return Response(card_as_contract(card))


class CardMergeApi(_CardDecisionApi):
    """Researchers: merge a card (with its duplicates) into another's cluster, with a reason."""

    class InputSerializer(_CardDecisionApi.InputSerializer):
        into = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses=CardSerializer)
    def post(self, request, card_id: int):
        card, data = self.card_and_input(request, card_id)
        into = ValuesCard.objects.filter(pk=data["into"], deliberation=card.deliberation).first()
        if into is None:
            return Response(
                {"into": ["No card with that id in this card's deliberation."]}, status=400
            )
        card = dedup.card_merge_by_researcher(
            card=card,
            into=into,
            researcher=request.user,
            reason=data["reason"],
        )
        return Response(card_as_contract(card))


# --- interview quality --------------------------------------------------------------------------


class GradingStartApi(APIView):
    """Researchers: start grading the deliberation's finished, ungraded interviews."""

    permission_classes = [IsResearcher]

    @extend_schema(request=None, responses={202: JobOutputSerializer})
    def post(self, request, name: str):
        job = grading.grading_start(
            created_by=request.user, deliberation=_deliberation(name), token=_key(request) or ""
        )
        return _started(job)


class GradesApi(APIView):
    """Researchers: interview grades aggregated per interviewer prompt name and version."""

    permission_classes = [IsResearcher]

    class OutputSerializer(serializers.Serializer):
        prompt_name = serializers.CharField()
        prompt_version = serializers.CharField()
        chats = serializers.IntegerField()
        personal_story = serializers.FloatField()
        led_the_witness = serializers.FloatField()
        one_question_at_a_time = serializers.FloatField()
        card_clarity = serializers.FloatField()
        intervals = serializers.DictField(
            child=serializers.ListField(child=serializers.FloatField()),
            help_text="95% intervals: the shares' (Wilson, in percent) and card_clarity's.",
        )

    class ResponseSerializer(serializers.Serializer):
        grader_version = serializers.CharField()
        prompts = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=ResponseSerializer)
    def get(self, request, name: str):
        rows = grading.grades_by_interviewer(deliberation=_deliberation(name))
        prompts = self.OutputSerializer(
            [{**row.__dict__, "intervals": row.intervals} for row in rows], many=True
        ).data
        return Response({"grader_version": grading.GRADER_VERSION, "prompts": prompts})
