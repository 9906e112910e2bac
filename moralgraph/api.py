"""REST API of the moral graph: the graph export, preference pairs and voting. No logic here."""

import json

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.roles import IsAnyRole, IsResearcher
from elicitation.models import Deliberation, MoralContext, ValuesCard
from moralgraph import graph as moral_graph
from moralgraph.models import UpgradeStory, Vote
from moralgraph.selectors import graph_for_deliberation, preferences_for_deliberation
from moralgraph.services import vote_cast


class GraphQuerySerializer(serializers.Serializer):
    rule = serializers.ChoiceField(choices=moral_graph.RULES, required=False)
    before = serializers.DateField(required=False, help_text="Count only votes cast before it.")


class GraphApi(APIView):
    """Researchers: the deliberation's moral graph as graph.json, GraphML or node-link JSON."""

    permission_classes = [IsResearcher]

    class InputSerializer(GraphQuerySerializer):
        format = serializers.ChoiceField(choices=list(moral_graph.FORMATS), default="json")

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
        )
        if fmt == "json":
            return Response(document)
        return HttpResponse(
            moral_graph.render(document, fmt), content_type=moral_graph.FORMATS[fmt]
        )


class PreferencesApi(APIView):
    """Researchers: preference pairs for training, one JSON object a line (JSONL)."""

    permission_classes = [IsResearcher]

    class InputSerializer(GraphQuerySerializer):
        pass

    @extend_schema(parameters=[InputSerializer], responses={(200, "application/x-ndjson"): str})
    def get(self, request, name: str):
        deliberation = get_object_or_404(Deliberation, name=name)
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        lines = preferences_for_deliberation(deliberation=deliberation, **params.validated_data)
        body = "".join(_json_line(line) for line in lines)
        response = HttpResponse(body, content_type="application/x-ndjson; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}-preferences.jsonl"'
        return response


def _json_line(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False) + "\n"


class VoteCastApi(APIView):
    """Anyone signed in: answer "is ``to`` wiser than ``from`` here?" (again to change it)."""

    permission_classes = [IsAnyRole]

    class InputSerializer(serializers.Serializer):
        from_card = serializers.IntegerField()
        to_card = serializers.IntegerField()
        context = serializers.IntegerField()
        choice = serializers.ChoiceField(choices=Vote.Choice.choices)
        comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)
        story = serializers.IntegerField(required=False, allow_null=True)

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Vote
            fields = ["id", "from_card", "to_card", "context", "story", "choice", "comment"]

    @extend_schema(
        request=InputSerializer, responses={201: OutputSerializer, 200: OutputSerializer}
    )
    def post(self, request, name: str):
        deliberation = get_object_or_404(Deliberation, name=name)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        # Look ids up anywhere: a card of another deliberation is a 400 from the service, not 404.
        story_id = values.get("story")
        vote, created = vote_cast(
            voter=request.user,
            deliberation=deliberation,
            from_card=_get(ValuesCard, values["from_card"], "from_card"),
            to_card=_get(ValuesCard, values["to_card"], "to_card"),
            context=_get(MoralContext, values["context"], "context"),
            choice=values["choice"],
            comment=values.get("comment", ""),
            story=_get(UpgradeStory, story_id, "story") if story_id else None,
        )
        return Response(
            self.OutputSerializer(vote).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


def _get(model, pk: int, field: str):
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise serializers.ValidationError({field: [f"No such {field.replace('_', ' ')}."]})
    return obj
