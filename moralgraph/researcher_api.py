"""REST API for researchers: the graph and preference exports, writing stories, the explorer's
data. Each view names its roles; no logic here."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import JobOutputSerializer
from core.jsonl import jsonl_response
from core.roles import IsResearcher
from elicitation.models import Deliberation, MoralContext, ValuesCard
from moralgraph import graph as moral_graph
from moralgraph.selectors import (
    explorer_document,
    graph_for_deliberation,
    pair_detail,
    preference_export,
    value_detail,
)
from moralgraph.services import stories_generation_start


class GraphQuerySerializer(serializers.Serializer):
    rule = serializers.ChoiceField(choices=moral_graph.RULES, required=False)
    before = serializers.DateField(required=False, help_text="Count only votes cast before it.")


class GraphApi(APIView):
    """Researchers: the deliberation's moral graph as graph.json, GraphML or node-link JSON."""

    permission_classes = [IsResearcher]

    class InputSerializer(GraphQuerySerializer):
        format = serializers.ChoiceField(choices=list(moral_graph.FORMATS), default="json")
        include_uncounted = serializers.BooleanField(
            default=False, help_text="Also count votes marked as not counting (Vote.counted)."
        )

    def perform_content_negotiation(self, request, force=False):
        # ``?format=`` names the graph's file format (the contracts' route), not a DRF renderer,
        # so DRF must not read it as its URL format override (which answers 404 for "graphml").
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    @extend_schema(
        parameters=[InputSerializer],
        responses={(200, "application/json"): dict, (200, "application/graphml+xml"): str},
    )
    def get(self, request, name: str):
        deliberation = get_object_or_404(Deliberation, name=name)
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        fmt = params.validated_data["format"]
        _built, document = graph_for_deliberation(
            deliberation=deliberation,
            rule=params.validated_data.get("rule"),
            before=params.validated_data.get("before"),
            include_uncounted=params.validated_data["include_uncounted"],
        )
        if fmt == "json":
            return Response(document)
        return HttpResponse(
            moral_graph.render(document, fmt), content_type=moral_graph.FORMATS[fmt]
        )


class PreferencesApi(APIView):
    """Researchers: preference pairs for training, one JSON object a line (JSONL).

    Only pairs with an edge one way in a context; headers ``X-Pairs-Kept``,
    ``X-Pairs-Left-Out-Two-Way`` and ``X-Pairs-Left-Out-Tied`` count what was kept and left out.
    """

    permission_classes = [IsResearcher]

    class InputSerializer(GraphQuerySerializer):
        pass

    @extend_schema(parameters=[InputSerializer], responses={(200, "application/x-ndjson"): str})
    def get(self, request, name: str):
        deliberation = get_object_or_404(Deliberation, name=name)
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        lines, summary = preference_export(deliberation=deliberation, **params.validated_data)
        response = jsonl_response(lines, f"{name}-preferences.jsonl")
        # The summary travels in headers: the body stays one preference a line.
        response["X-Pairs-Kept"] = str(summary["kept"])
        response["X-Pairs-Left-Out-Two-Way"] = str(summary["two_way"])
        response["X-Pairs-Left-Out-Tied"] = str(summary["tied"])
        return response


class StoriesGenerateApi(APIView):
    """Researchers: start the job that writes upgrade stories (both directions of each pair).

    An ``Idempotency-Key`` header (scoped to the user) makes retries return the same job; the
    older ``idempotency_key`` body field is still read when no header is sent.
    """

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        contexts = serializers.ListField(child=serializers.IntegerField(), required=False)
        pairs_per_card = serializers.IntegerField(required=False, min_value=1, max_value=50)
        idempotency_key = serializers.CharField(
            required=False, max_length=100, help_text="Deprecated: send an Idempotency-Key header."
        )

    @extend_schema(request=InputSerializer, responses={202: JobOutputSerializer})
    def post(self, request, name: str):
        deliberation = get_object_or_404(Deliberation, name=name)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        key = request.headers.get("Idempotency-Key") or values.get("idempotency_key")
        job = stories_generation_start(
            deliberation=deliberation,
            created_by=request.user,
            context_ids=values.get("contexts"),
            pairs_per_card=values.get("pairs_per_card"),
            token=key,
        )
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ExplorerContextApi(APIView):
    """Researchers: one context's graph as the explorer draws it (values, edges, winner, cycles).

    ``?group=<study slug>`` counts only the votes of that study's participants;
    ``?group=attr:<name>=<value>`` only those of voters with that attribute (e.g. the MGE
    study's ``attr:US political affiliation=Democrat``). A filtered document adds
    ``group_voters`` and ``group_votes`` (the group's voters and votes in this context).
    """

    permission_classes = [IsResearcher]

    @extend_schema(responses={200: dict})
    def get(self, request, name: str, context_id: int):
        deliberation = get_object_or_404(Deliberation, name=name)
        context = get_object_or_404(MoralContext, pk=context_id, deliberation=deliberation)
        text, stale = explorer_document(
            context=context, group=request.query_params.get("group") or None
        )
        # The snapshot is stored as JSON text: send it as it is, with the staleness flag.
        body = '{"stale":' + ("true" if stale else "false") + "," + text[1:]
        return HttpResponse(body, content_type="application/json")


class ValueDetailApi(APIView):
    """Researchers: a value's card and the pairs involving it in one context, with counts."""

    permission_classes = [IsResearcher]

    @extend_schema(responses={200: dict})
    def get(self, request, name: str, card_id: int, context_id: int):
        deliberation = get_object_or_404(Deliberation, name=name)
        card = get_object_or_404(
            ValuesCard.objects.select_related("author"), pk=card_id, deliberation=deliberation
        )
        context = get_object_or_404(MoralContext, pk=context_id, deliberation=deliberation)
        return Response(value_detail(deliberation=deliberation, card=card, context=context))


class PairDetailApi(APIView):
    """Researchers: a pair in a context: counts both ways, its stories and voters' comments."""

    permission_classes = [IsResearcher]

    @extend_schema(responses={200: dict})
    def get(self, request, name: str, context_id: int, from_id: int, to_id: int):
        deliberation = get_object_or_404(Deliberation, name=name)
        context = get_object_or_404(MoralContext, pk=context_id, deliberation=deliberation)
        cards = ValuesCard.objects.filter(deliberation=deliberation)
        return Response(
            pair_detail(
                deliberation=deliberation,
                from_card=get_object_or_404(cards, pk=from_id),
                to_card=get_object_or_404(cards, pk=to_id),
                context=context,
            )
        )
