"""Training pairs from the moral graph never contradict each other, and say what was left out."""

import json
from collections import Counter

import pytest

from elicitation.models import Deliberation
from moralgraph import graph as moral_graph
from moralgraph.importing import mge_import
from moralgraph.selectors import preference_export, vote_tuples

PREFERENCES = "/api/moralgraph/deliberations/mge/preferences/"


def test_a_two_way_cycle_and_a_tie_are_left_out_and_counted():
    votes = [
        # Context 1: A → B by two voters, B → A by two others: an edge each way.
        (1, "A", "B", 1, "wiser"),
        (2, "A", "B", 1, "wiser"),
        (3, "B", "A", 1, "wiser"),
        (4, "B", "A", 1, "wiser"),
        # Context 1: A → C, one way only.
        (1, "A", "C", 1, "wiser"),
        (2, "A", "C", 1, "wiser"),
        # Context 1: B → C split evenly: no edge, a tie.
        (1, "B", "C", 1, "wiser"),
        (2, "B", "C", 1, "not_wiser"),
    ]
    built = moral_graph.build(votes, rule="majority", min_votes=2)
    chosen = moral_graph.preferences(built, votes, min_votes=2)

    assert [(context, edge.from_id, edge.to_id) for context, edge in chosen.kept] == [(1, "A", "C")]
    assert chosen.summary() == {"kept": 1, "two_way": 1, "tied": 1}


@pytest.fixture
def real_study(real_mge, db):
    mge_import(directory=real_mge)
    return Deliberation.objects.get(name="mge")


@pytest.mark.parametrize("rule", ["majority", "dft-2023"])
def test_the_real_study_gives_one_direction_per_pair_and_context(real_study, rule):
    lines, summary = preference_export(deliberation=real_study, rule=rule)
    lines = list(lines)

    pairs = Counter(
        (line["context_id"], frozenset((line["wiser"]["id"], line["less_wise"]["id"])))
        for line in lines
    )
    assert lines and max(pairs.values()) == 1  # never both directions of a pair in a context
    assert all(line["wiser"]["id"] != line["less_wise"]["id"] for line in lines)
    assert all(line["counts"] and isinstance(line["strength"], float) for line in lines)
    assert all(line["counts"]["wiser"] >= 1 for line in lines)
    assert summary["kept"] == len(lines)
    built = moral_graph.build(vote_tuples(deliberation=real_study), rule=rule)
    lines_before = sum(len(edge.contexts) for edge in built.edges)
    # Every edge-in-a-context is either kept or one of the two directions of a two-way pair.
    assert lines_before == summary["kept"] + 2 * summary["two_way"]
    if rule == "majority":
        # The study's contexts 7 and 10 hold two-value cycles under majority.
        assert summary["two_way"] >= 2
    else:
        # wiserLikelihood cannot favour both directions of a pair.
        assert summary["two_way"] == 0


def test_the_api_counts_what_it_left_out_in_headers(real_study, rita, api_for):
    response = api_for(rita).get(PREFERENCES, {"rule": "majority"})

    assert response.status_code == 200
    lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert int(response["X-Pairs-Kept"]) == len(lines)
    assert int(response["X-Pairs-Left-Out-Two-Way"]) >= 2
    assert int(response["X-Pairs-Left-Out-Tied"]) >= 0
