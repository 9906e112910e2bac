"""The preferences export is streamed, and sends the same bytes the whole-body export sent."""

import json

import pytest

from elicitation.models import Deliberation, MoralContext, ValuesCard
from elicitation.selectors import card_as_contract
from moralgraph.importing import mge_import
from moralgraph.selectors import graph_for_deliberation, preferences_for_deliberation

pytestmark = pytest.mark.django_db

PREFERENCES = "/api/moralgraph/deliberations/mge/preferences/"


@pytest.fixture
def tiny(tiny_mge):
    mge_import(directory=tiny_mge)
    # A title beyond ASCII: the export keeps it as UTF-8, not as \u escapes.
    ValuesCard.objects.filter(source_id="2", canonical__isnull=True).update(
        title="Sanfte Ehrlichkeit — 誠実"
    )


def body_as_before(*, rule: str | None = None) -> bytes:
    """Return the body the export built in memory before it streamed (its code, kept here, with
    each line's strength added; the tiny dump has no pair with an edge each way)."""
    deliberation = Deliberation.objects.get(name="mge")
    built, _document = graph_for_deliberation(deliberation=deliberation, rule=rule)
    cards = ValuesCard.objects.select_related("author").in_bulk()
    contexts = MoralContext.objects.filter(deliberation=deliberation).in_bulk()
    lines = [
        {
            "context": contexts[context_id].text,
            "context_id": context_id,
            "wiser": card_as_contract(cards[edge.to_id]),
            "less_wise": card_as_contract(cards[edge.from_id]),
            "counts": edge.counts(),
            "strength": edge.strength,
            "rule": built.rule,
        }
        for edge in built.edges
        for context_id in edge.contexts
    ]
    lines.sort(key=lambda line: (line["context_id"], line["less_wise"]["id"], line["wiser"]["id"]))
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()


@pytest.mark.parametrize("rule", ["dft-2023", "majority"])
def test_preferences_stream_the_bytes_the_whole_body_export_sent(
    tiny, rita, api_for, django_assert_num_queries, rule
):
    response = api_for(rita).get(PREFERENCES, {"rule": rule})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="mge-preferences.jsonl"'
    # Everything is read before the view returns: sending the lines asks nothing of the database.
    with django_assert_num_queries(0):
        body = b"".join(response.streaming_content)
    assert body == body_as_before(rule=rule)
    assert "Sanfte Ehrlichkeit — 誠実".encode() in body
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert len(lines) >= 2
    deliberation = Deliberation.objects.get(name="mge")
    assert lines == preferences_for_deliberation(deliberation=deliberation, rule=rule)


def test_preferences_come_ordered_by_context_then_less_wise_then_wiser(tiny, rita, api_for):
    response = api_for(rita).get(PREFERENCES, {"rule": "dft-2023"})
    lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    keys = [(line["context_id"], line["less_wise"]["id"], line["wiser"]["id"]) for line in lines]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys) == 3  # 1→2 in both contexts, 2→3 in one


def test_a_graph_without_edges_streams_an_empty_body(tiny, rita, api_for, settings):
    settings.MORALGRAPH_MIN_VOTES = 50
    response = api_for(rita).get(PREFERENCES, {"rule": "majority"})
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b""


def test_bad_parameters_still_answer_400_before_anything_streams(tiny, rita, api_for):
    response = api_for(rita).get(PREFERENCES, {"before": "soon"})
    assert response.status_code == 400
    assert "before" in response.json()
