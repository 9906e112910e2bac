"""The pure graph module: rules, scoring and exports on tiny vote sets worked out by hand."""

import json
import math

import networkx as nx
import pytest
from networkx.algorithms.link_analysis.pagerank_alg import _pagerank_python

from moralgraph import graph

W, N, U = graph.WISER, graph.NOT_WISER, graph.UNSURE


def votes(*rows):
    """Return vote tuples from ``(from, to, context, choice)`` rows, each by a new voter."""
    return [
        (f"v{index}", a, b, context, choice) for index, (a, b, context, choice) in enumerate(rows)
    ]


def edge_keys(edges):
    return {(edge.from_id, edge.to_id, edge.contexts) for edge in edges}


# --- majority -------------------------------------------------------------------------------


def test_majority_keeps_a_pair_where_wiser_is_a_strict_majority():
    edges = graph.majority_edges(votes((1, 2, "c", W), (1, 2, "c", W), (1, 2, "c", N)))
    assert edge_keys(edges) == {(1, 2, ("c",))}
    assert edges[0].counts() == {"wiser": 2, "not_wiser": 1, "unsure": 0}
    assert edges[0].strength == pytest.approx(2 / 3)


def test_majority_drops_a_tie():
    assert graph.majority_edges(votes((1, 2, "c", W), (1, 2, "c", N))) == []


def test_majority_needs_min_votes_people():
    one_vote = votes((1, 2, "c", W))
    assert graph.majority_edges(one_vote) == []
    assert edge_keys(graph.majority_edges(one_vote, min_votes=1)) == {(1, 2, ("c",))}


def test_majority_counts_unsure_voters_as_people_but_not_in_the_majority():
    edges = graph.majority_edges(votes((1, 2, "c", W), (1, 2, "c", U)))
    assert edges[0].counts() == {"wiser": 1, "not_wiser": 0, "unsure": 1}
    assert edges[0].strength == 1.0


def test_majority_counts_one_voter_once_for_min_votes():
    same_voter = [("v", 1, 2, "c", W), ("v", 1, 2, "c", W)]
    assert graph.majority_edges(same_voter) == []


def test_majority_decides_each_context_and_direction_separately():
    edges = graph.majority_edges(
        votes(
            (1, 2, "c1", W),
            (1, 2, "c1", W),
            (1, 2, "c2", N),
            (1, 2, "c2", N),
            (2, 1, "c1", N),
            (2, 1, "c1", N),
        )
    )
    assert edge_keys(edges) == {(1, 2, ("c1",))}


def test_unknown_choice_is_refused():
    with pytest.raises(graph.UnknownChoice):
        graph.majority_edges([("v", 1, 2, "c", "maybe")])
    with pytest.raises(graph.UnknownChoice):
        graph.dft_2023_edges([("v", 1, 2, "c", "maybe")])


# --- dft-2023 -------------------------------------------------------------------------------


def test_entropy_is_shannon_bits_of_the_normalised_counts():
    assert graph.shannon_entropy([2, 0, 0, 0, 2]) == pytest.approx(1.0)
    assert graph.shannon_entropy([0, 0]) == 0.0


def test_dft_keeps_a_clear_pair_and_reports_its_counts():
    # W=3, N=2, U=0, L=0, I=5: likelihood 3/5; entropy of (.3, .2, .5) = 1.4855 bits.
    edges = graph.dft_2023_edges(
        votes((3, 4, "c", W), (3, 4, "c", W), (3, 4, "c", W), (3, 4, "c", N), (3, 4, "c", N))
    )
    [edge] = edges
    assert edge.counts() == {
        "wiser": 3,
        "not_wiser": 2,
        "unsure": 0,
        "less_wise": 0,
        "impressions": 5,
    }
    assert edge.strength == pytest.approx(0.6)
    assert edge.entropy == pytest.approx(1.4855, abs=1e-4)


def test_dft_entropy_counts_the_total_as_one_of_five_counts():
    # W=3, N=1, U=2, L=0, I=6 → p = (3, 1, 2, 6)/12, entropy 1.7296 > 1.69: dropped, although
    # the likelihood is 0.5. Over (W, N, U, L) alone the entropy would be 1.459 and it would stay.
    rows = [(1, 2, "c", W)] * 3 + [(1, 2, "c", N)] + [(1, 2, "c", U)] * 2
    assert graph.shannon_entropy([3, 1, 2, 0, 6]) == pytest.approx(1.7296, abs=1e-4)
    assert graph.dft_2023_edges(votes(*rows)) == []


def test_dft_subtracts_the_reverse_wiser_votes():
    # 5→6: W=2, L=1 (one voter said 5 is wiser than 6): likelihood (2−1)/3 = 0.333 ≥ 0.33;
    # counts (2, 0, 0, 1, 3) → entropy 1.459. 6→5 has W=1 < 2 and is dropped.
    edges = graph.dft_2023_edges(votes((5, 6, "c", W), (5, 6, "c", W), (6, 5, "c", W)))
    [edge] = edges
    assert (edge.from_id, edge.to_id) == (5, 6)
    assert edge.strength == pytest.approx(1 / 3)
    assert edge.counts()["less_wise"] == 1
    assert edge.counts()["impressions"] == 3
    assert edge.entropy == pytest.approx(1.4591, abs=1e-4)


def test_dft_drops_low_likelihood_and_single_wiser_votes():
    # 1→2: W=2, L=2 → likelihood 0. 3→4: W=1.
    rows = [(1, 2, "c", W)] * 2 + [(2, 1, "c", W)] * 2 + [(3, 4, "c", W)]
    assert graph.dft_2023_edges(votes(*rows)) == []


def test_dft_pools_contexts_and_lists_every_context_the_pair_was_voted_in():
    rows = [(3, 4, "c1", W), (3, 4, "c1", W), (3, 4, "c2", W), (3, 4, "c2", N), (3, 4, "c1", N)]
    rows.append((4, 3, "c3", N))
    [edge] = graph.dft_2023_edges(votes(*rows))
    assert edge.contexts == ("c1", "c2", "c3")
    # (3, 2, 0, 0, 6): entropy of (3, 2, 6)/11.
    expected = -sum(p * math.log2(p) for p in (3 / 11, 2 / 11, 6 / 11))
    assert edge.entropy == pytest.approx(expected)
    assert edge.counts()["impressions"] == 6


# --- scoring --------------------------------------------------------------------------------


def test_pagerank_of_two_values_matches_the_hand_solution():
    # a → b, alpha 0.85: x_a = .075 + .425 x_b, x_b = .075 + .85 x_a + .425 x_b.
    ranks = graph.pagerank(["a", "b"], [("a", "b", 1.0)])
    assert ranks["b"] == pytest.approx(0.649123, abs=1e-5)
    assert ranks["a"] == pytest.approx(0.350877, abs=1e-5)


def test_pagerank_matches_networkx():
    edges = [(1, 2, 0.5), (2, 3, 1.0), (3, 1, 0.4), (3, 4, 0.9), (5, 4, 0.33), (1, 4, 0.7)]
    digraph = nx.DiGraph()
    digraph.add_nodes_from([1, 2, 3, 4, 5, 6])
    digraph.add_weighted_edges_from(edges)
    expected = _pagerank_python(digraph, weight="weight")
    ranks = graph.pagerank([1, 2, 3, 4, 5, 6], edges)
    for node, rank in expected.items():
        assert ranks[node] == pytest.approx(rank, abs=1e-5)


def test_each_context_gets_a_winner_support_and_its_cycles():
    rows = []
    for a, b in [(1, 2), (2, 3), (3, 1), (3, 4)]:
        rows += [(a, b, "c", W), (a, b, "c", W)]
    rows += [(7, 8, "quiet", U), (7, 8, "quiet", U)]
    built = graph.build(votes(*rows), rule=graph.MAJORITY)
    score = built.scores["c"]
    assert score.cycles == [[1, 2, 3]]
    # 4 is a sink, so its rank is spread over everyone; 3 collects all of 2's: 3 wins.
    digraph = nx.DiGraph([(1, 2), (2, 3), (3, 1), (3, 4)])
    expected = _pagerank_python(digraph)
    assert score.winner == max(expected, key=expected.get) == 3
    ranked = sorted(score.pagerank.values(), reverse=True)
    assert score.support == pytest.approx(ranked[0] - ranked[1])
    assert sum(score.pagerank.values()) == pytest.approx(1.0)
    # A context with votes but no edge is scored (uniformly) and has no winner.
    assert built.scores["quiet"].winner is None
    assert built.value_ids == {1, 2, 3, 4, 7, 8}


def test_build_refuses_an_unknown_rule():
    with pytest.raises(ValueError):
        graph.build([], rule="plurality")


# --- exports --------------------------------------------------------------------------------


@pytest.fixture
def document():
    rows = [(1, 2, 10, W), (1, 2, 10, W), (2, 3, 10, W), (2, 3, 10, W)]
    built = graph.build(votes(*rows), rule=graph.DFT_2023)
    values = [
        {"id": i, "title": f"V{i}", "description": "d", "policies": ["A", "B"], "source_id": str(i)}
        for i in (1, 2, 3, 99)
    ]
    return graph.to_json(built, values=values, contexts=[{"id": 10, "text": "When x"}])


def test_graph_json_has_the_contracts_shape(document):
    assert document["scheme"] == "moral-graph/1"
    assert document["rule"] == "dft-2023"
    assert [value["id"] for value in document["values"]] == [1, 2, 3]  # 99 got no vote
    assert document["values"][0] == {
        "id": 1,
        "title": "V1",
        "description": "d",
        "policies": ["A", "B"],
        "source_id": "1",
    }
    assert document["contexts"] == [{"id": 10, "text": "When x"}]
    edge = document["edges"][0]
    assert set(edge) >= {"from", "to", "contexts", "counts", "strength"}
    assert (edge["from"], edge["to"], edge["contexts"]) == (1, 2, [10])
    assert set(document["scores"]["10"]) == {1, 2, 3}
    assert document["analysis"]["10"]["winner"] == 3
    json.dumps(document)


def test_graphml_round_trips_through_networkx(tmp_path, document):
    path = tmp_path / "g.graphml"
    path.write_text(graph.render(document, "graphml"))
    loaded = nx.read_graphml(path)
    assert loaded.number_of_nodes() == 3
    assert loaded.number_of_edges() == 2
    assert json.loads(loaded.nodes["1"]["policies"]) == ["A", "B"]
    assert loaded.graph["rule"] == "dft-2023"


def test_node_link_loads_back_into_networkx(document):
    data = json.loads(graph.render(document, "node-link"))
    loaded = nx.node_link_graph(data, edges="edges")
    assert sorted(loaded.nodes) == [1, 2, 3]
    assert loaded.number_of_edges() == 2


def test_context_view_lists_the_contexts_values_by_rank(document):
    rows = [(1, 2, 10, W), (1, 2, 10, W)]
    built = graph.build(votes(*rows), rule=graph.MAJORITY)
    view = graph.context_view(built, 10)
    assert [value["id"] for value in view["values"]] == [2, 1]
    assert view["winner"] == 2
    assert graph.context_view(built, 11)["values"] == []


def test_min_votes_setting_is_checked(settings):
    from moralgraph.checks import check_min_votes

    settings.MORALGRAPH_MIN_VOTES = 0
    assert [error.id for error in check_min_votes(None)] == ["moralgraph.E001"]
    settings.MORALGRAPH_MIN_VOTES = 3
    assert check_min_votes(None) == []


def test_a_winner_a_few_voters_could_flip_is_not_a_clear_winner():
    from moralgraph.graph import winner_stability

    # Context 1: ten people agree B is wiser than A. Context 2: C wiser than A, 3 votes to 2.
    clear = [(voter, "A", "B", 1, "wiser") for voter in range(10)]
    split = [(100 + voter, "A", "C", 2, "wiser") for voter in range(3)] + [
        (200 + voter, "A", "C", 2, "not_wiser") for voter in range(2)
    ]

    shares = winner_stability(clear + split, rule="majority", min_votes=2, resamples=200)

    assert shares[1] == 1.0
    assert shares[2] < 0.8
    assert winner_stability(clear + split, rule="majority", resamples=200) == shares  # seeded


def test_one_context_s_winner_share_is_the_same_computed_alone():
    from moralgraph.graph import winner_stability

    clear = [(voter, "A", "B", 1, "wiser") for voter in range(10)]
    split = [(100 + voter, "A", "C", 2, "wiser") for voter in range(3)] + [
        (200 + voter, "A", "C", 2, "not_wiser") for voter in range(2)
    ]
    votes = clear + split
    everyone = winner_stability(votes, rule="dft-2023", resamples=100)
    alone = winner_stability(votes, rule="dft-2023", resamples=100, contexts=[2])

    assert set(alone) == {2}
    assert alone[2] == everyone[2]
