"""The graph and preference exports: command, API, and the published study's graph."""

import json

import networkx as nx
import pytest
from django.core.management import CommandError, call_command

from elicitation.models import ValuesCard
from moralgraph.importing import mge_import

pytestmark = pytest.mark.django_db

GRAPH = "/api/moralgraph/deliberations/mge/graph/"
PREFERENCES = "/api/moralgraph/deliberations/mge/preferences/"


def source_ids(document, edge):
    ids = {value["id"]: value["source_id"] for value in document["values"]}
    return ids[edge["from"]], ids[edge["to"]]


@pytest.fixture
def tiny(tiny_mge):
    mge_import(directory=tiny_mge)


def export(*args) -> dict:
    from io import StringIO

    out = StringIO()
    call_command("export_moralgraph", *args, stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


def test_dft_graph_before_a_date_counts_only_earlier_votes(tiny):
    # Before 2023-10-18: 1→2 has W=2, U=1 (kept); 2→3 has W=1, N=1 (dropped). The late vote
    # on 2→3 brings it to W=2, N=1: likelihood 2/3, entropy 1.459, kept.
    early = export("--rule", "dft-2023", "--before", "2023-10-18")
    assert [source_ids(early, edge) for edge in early["edges"]] == [("1", "2")]
    assert len(early["edges"][0]["contexts"]) == 2
    assert {value["source_id"] for value in early["values"]} == {"1", "2", "3"}
    everything = export("--rule", "dft-2023")
    assert [source_ids(everything, edge) for edge in everything["edges"]] == [
        ("1", "2"),
        ("2", "3"),
    ]


def test_majority_graph_uses_the_deliberation_or_the_named_rule(tiny):
    document = export("--deliberation", "mge", "--rule", "majority", "--before", "2023-10-18")
    assert document["rule"] == "majority"
    [edge] = document["edges"]
    assert edge["counts"] == {"wiser": 2, "not_wiser": 0, "unsure": 0}
    assert export()["rule"] == "dft-2023"  # the imported deliberation's own rule


def test_export_writes_graphml_to_a_file(tiny, tmp_path, capsys):
    path = tmp_path / "g.graphml"
    call_command("export_moralgraph", "--format", "graphml", "-o", str(path))
    assert "3 values" in capsys.readouterr().out
    graph = nx.read_graphml(path)
    assert graph.number_of_nodes() == 3
    # A Gephi user tells contexts apart: names on edges, a score per context on each value.
    document = export()
    texts = {str(c["id"]): c["text"] for c in document["contexts"]}
    for _a, _b, data in graph.edges(data=True):
        assert data["context_names"] in {" | ".join(texts.values()), *texts.values()}
    for context_id, ranks in document["scores"].items():
        assert graph.graph[f"context_{context_id}"] == texts[context_id]
        for value_id, rank in ranks.items():
            node = graph.nodes[str(value_id)]
            assert node[f"score_context_{context_id}"] == pytest.approx(rank)


def test_export_refuses_bad_input_in_one_line(tiny):
    with pytest.raises(CommandError, match="not a date"):
        call_command("export_moralgraph", "--before", "18/10/2023")
    with pytest.raises(CommandError, match="No deliberation called 'nope'"):
        call_command("export_moralgraph", "--deliberation", "nope")


def test_researcher_gets_the_graph_from_the_api(tiny, rita, api_for):
    response = api_for(rita).get(GRAPH, {"rule": "majority", "before": "2023-10-18"})
    assert response.status_code == 200
    document = response.json()
    assert document["scheme"] == "moral-graph/1"
    assert len(document["edges"]) == 1
    graphml = api_for(rita).get(GRAPH, {"format": "graphml"})
    assert graphml.status_code == 200
    assert graphml["Content-Type"] == "application/graphml+xml"
    node_link = api_for(rita).get(GRAPH, {"format": "node-link"})
    assert "edges" in json.loads(node_link.content)


@pytest.mark.parametrize("params", [{"rule": "plurality"}, {"before": "soon"}, {"format": "gexf"}])
def test_graph_api_answers_400_on_bad_parameters(tiny, rita, api_for, params):
    assert api_for(rita).get(GRAPH, params).status_code == 400


def test_graph_api_answers_404_for_an_unknown_deliberation(rita, api_for):
    assert api_for(rita).get("/api/moralgraph/deliberations/nope/graph/").status_code == 404


@pytest.mark.parametrize("route", [GRAPH, PREFERENCES])
def test_participants_may_not_export(tiny, alice, api_for, route):
    assert api_for(alice).get(route).status_code == 403


def test_preferences_are_one_line_per_context_and_edge(tiny, rita, api_for):
    response = api_for(rita).get(PREFERENCES, {"before": "2023-10-18"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.content.decode().splitlines()]
    assert {line["context"] for line in lines} == {"When in distress", "When making decisions"}
    for line in lines:
        wiser = ValuesCard.objects.get(pk=line["wiser"]["id"])
        less_wise = ValuesCard.objects.get(pk=line["less_wise"]["id"])
        assert (less_wise.source_id, wiser.source_id) == ("1", "2")
        assert set(line["wiser"]) >= {"id", "title", "description", "policies", "canonical_id"}
        assert line["counts"]["wiser"] == 2


def test_the_published_study_graph(real_mge):
    """The study's rule on its votes before 2023-10-18 (1,540 of the 1,592).

    69 edges over 60 values (74 values received a vote), the same as a from-scratch count over
    edge.json with the issue's formula; no pair is kept both ways.
    """
    mge_import(directory=real_mge)
    document = export("--rule", "dft-2023", "--before", "2023-10-18")
    assert len(document["edges"]) == 69
    assert len(document["values"]) == 74
    assert len({v for edge in document["edges"] for v in (edge["from"], edge["to"])}) == 60
    pairs = {(edge["from"], edge["to"]) for edge in document["edges"]}
    assert not any((b, a) in pairs for a, b in pairs)
    assert all(
        edge["counts"]["wiser"] >= 2 and edge["strength"] >= 0.33 for edge in document["edges"]
    )
    assert len(document["scores"]) == 11


def test_min_votes_setting_raises_the_bar_for_majority_edges(tiny, settings):
    settings.MORALGRAPH_MIN_VOTES = 3
    document = export("--rule", "majority", "--before", "2023-10-18")
    assert document["edges"] == []
