"""Turn wiser-than votes into edges, score them per context, and write the graph out.

Pure computation: plain tuples in, plain dicts and networkx graphs out; no database, no Django.
A vote ``(voter, from_id, to_id, context_id, choice)`` answers "is ``to`` wiser than ``from`` in
this context?"; an edge ``from → to`` means the voters, by the rule, said yes.
"""

from __future__ import annotations

import io
import json
import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import networkx as nx
import numpy as np

SCHEME = "moral-graph/1"

WISER = "wiser"
NOT_WISER = "not_wiser"
UNSURE = "unsure"
CHOICES = (WISER, NOT_WISER, UNSURE)
_CHOICE_INDEX = {choice: index for index, choice in enumerate(CHOICES)}

MAJORITY = "majority"
DFT_2023 = "dft-2023"
RULES = (MAJORITY, DFT_2023)

DEFAULT_MIN_VOTES = 2
# The published study's thresholds (Meaning Alignment Institute, 2023 run of MGE).
DFT_MIN_WISER = 2
DFT_MIN_WISER_LIKELIHOOD = 0.33
DFT_MAX_ENTROPY = 1.69

PAGERANK_ALPHA = 0.85


class VoteTuple(NamedTuple):
    voter: Hashable
    from_id: Hashable
    to_id: Hashable
    context_id: Hashable
    choice: str


@dataclass(slots=True)
class Edge:
    """A kept wiser-than edge: ``to`` is wiser than ``from`` in ``contexts``."""

    from_id: Hashable
    to_id: Hashable
    contexts: tuple
    wiser: int
    not_wiser: int
    unsure: int
    strength: float
    # Only the dft-2023 rule counts these; None under majority.
    less_wise: int | None = None
    impressions: int | None = None
    entropy: float | None = None

    def counts(self) -> dict[str, int]:
        """Return the vote counts behind the edge, in the contracts' shape (plus dft's extras)."""
        counts = {"wiser": self.wiser, "not_wiser": self.not_wiser, "unsure": self.unsure}
        if self.less_wise is not None:
            counts["less_wise"] = self.less_wise
            counts["impressions"] = self.impressions
        return counts


@dataclass(slots=True)
class ContextScore:
    """PageRank of every value voted on in one context, its winner and its cycles."""

    pagerank: dict
    winner: Hashable | None
    support: float
    cycles: list[list]


@dataclass(slots=True)
class MoralGraph:
    rule: str
    edges: list[Edge]
    scores: dict = field(default_factory=dict)  # context id → ContextScore
    value_ids: set = field(default_factory=set)  # values that received a vote


class UnknownChoice(ValueError):
    """A vote's choice is none of wiser, not_wiser, unsure."""


def _choice_index(choice: str) -> int:
    try:
        return _CHOICE_INDEX[choice]
    except KeyError:
        raise UnknownChoice(f"unknown choice {choice!r}; expected one of {', '.join(CHOICES)}")


def shannon_entropy(counts: Iterable[int]) -> float:
    """Return the Shannon entropy in bits of ``counts`` normalised by their sum (0 for none)."""
    counts = [count for count in counts if count > 0]
    total = sum(counts)
    if not total:
        return 0.0
    return -sum((count / total) * math.log2(count / total) for count in counts)


def majority_edges(votes: Iterable[Sequence], *, min_votes: int = DEFAULT_MIN_VOTES) -> list[Edge]:
    """Return one edge per ordered pair and context where "wiser" wins.

    Keep ``from → to`` in a context when wiser votes are a strict majority of wiser + not_wiser
    votes on that ordered pair there, and at least ``min_votes`` distinct people voted on it
    (unsure voters count as people who voted).
    """
    # Counters over plain tuples run in C: this is the hot loop of a 100k-vote recompute.
    votes = list(votes)
    tallies = Counter((vote[1], vote[2], vote[3], vote[4]) for vote in votes)
    unknown = {key[3] for key in tallies} - set(CHOICES)
    if unknown:
        _choice_index(sorted(unknown)[0])
    voters = Counter(key[1:] for key in {(vote[0], vote[1], vote[2], vote[3]) for vote in votes})
    edges = []
    for key, n_voters in voters.items():
        wiser, not_wiser = tallies[(*key, WISER)], tallies[(*key, NOT_WISER)]
        if wiser > not_wiser and n_voters >= min_votes:
            from_id, to_id, context_id = key
            edges.append(
                Edge(
                    from_id=from_id,
                    to_id=to_id,
                    contexts=(context_id,),
                    wiser=wiser,
                    not_wiser=not_wiser,
                    unsure=tallies[(*key, UNSURE)],
                    strength=wiser / (wiser + not_wiser),
                )
            )
    edges.sort(
        key=lambda edge: (
            _sort_key(edge.contexts[0]),
            _sort_key(edge.from_id),
            _sort_key(edge.to_id),
        )
    )
    return edges


def dft_2023_edges(votes: Iterable[Sequence]) -> list[Edge]:
    """Return the published study's edges: one per ordered pair, pooled across contexts.

    For ``A → B``: W, N, U = wiser, not wiser, unsure votes on A → B; L = wiser votes on B → A;
    I = impressions, all votes on A → B and on B → A. wiserLikelihood = (W − L) / (W + N + U + L);
    entropy is over the five counts (W, N, U, L, I) normalised by their sum — the total I is one
    of the five because that is how the study computed it. Keep the edge when W ≥ 2,
    wiserLikelihood ≥ 0.33 and entropy ≤ 1.69. The edge lists every context in which either
    direction of the pair was voted on.
    """
    tallies: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    contexts: dict[tuple, set] = defaultdict(set)
    for _voter, from_id, to_id, context_id, choice in votes:
        tallies[(from_id, to_id)][_choice_index(choice)] += 1
        contexts[(from_id, to_id)].add(context_id)
    edges = []
    for (from_id, to_id), (wiser, not_wiser, unsure) in tallies.items():
        if wiser < DFT_MIN_WISER:
            continue
        reverse = tallies.get((to_id, from_id), (0, 0, 0))
        less_wise = reverse[0]
        impressions = wiser + not_wiser + unsure + sum(reverse)
        wiser_likelihood = (wiser - less_wise) / (wiser + not_wiser + unsure + less_wise)
        entropy = shannon_entropy((wiser, not_wiser, unsure, less_wise, impressions))
        if wiser_likelihood >= DFT_MIN_WISER_LIKELIHOOD and entropy <= DFT_MAX_ENTROPY:
            pair_contexts = contexts[(from_id, to_id)] | contexts.get((to_id, from_id), set())
            edges.append(
                Edge(
                    from_id=from_id,
                    to_id=to_id,
                    contexts=tuple(sorted(pair_contexts, key=_sort_key)),
                    wiser=wiser,
                    not_wiser=not_wiser,
                    unsure=unsure,
                    strength=wiser_likelihood,
                    less_wise=less_wise,
                    impressions=impressions,
                    entropy=entropy,
                )
            )
    edges.sort(key=lambda edge: (_sort_key(edge.from_id), _sort_key(edge.to_id)))
    return edges


def _sort_key(value: Hashable) -> tuple:
    # Ids may be ints or strings; sort ints numerically and never compare an int with a str.
    return (0, value, "") if isinstance(value, int) else (1, 0, str(value))


def pagerank(
    nodes: Sequence[Hashable],
    edges: Iterable[tuple[Hashable, Hashable, float]],
    *,
    alpha: float = PAGERANK_ALPHA,
    max_iter: int = 100,
    tol: float = 1.0e-6,
) -> dict:
    """Return weighted PageRank of ``nodes`` over ``(from, to, weight)`` edges.

    The same power iteration as ``networkx.pagerank`` (uniform teleport, dangling mass spread
    evenly, the same stopping test), done with numpy because networkx's fast path needs scipy,
    which ValueLab does not install; parallel edges add their weights.
    """
    count = len(nodes)
    if count == 0:
        return {}
    index = {node: position for position, node in enumerate(nodes)}
    edge_list = list(edges)
    source = np.fromiter((index[e[0]] for e in edge_list), dtype=np.int64, count=len(edge_list))
    target = np.fromiter((index[e[1]] for e in edge_list), dtype=np.int64, count=len(edge_list))
    weight = np.fromiter((e[2] for e in edge_list), dtype=float, count=len(edge_list))
    out_weight = np.bincount(source, weights=weight, minlength=count)
    share = weight / out_weight[source] if len(edge_list) else weight
    dangling = out_weight == 0
    rank = np.full(count, 1.0 / count)
    for _ in range(max_iter):
        previous = rank
        flow = np.bincount(target, weights=previous[source] * share, minlength=count)
        rank = alpha * (flow + previous[dangling].sum() / count) + (1 - alpha) / count
        if np.abs(rank - previous).sum() < count * tol:
            return dict(zip(nodes, rank.tolist(), strict=True))
    raise nx.PowerIterationFailedConvergence(max_iter)


def score_context(nodes: Iterable[Hashable], edges: Sequence[Edge]) -> ContextScore:
    """Return PageRank (weight = strength), winner, support and cycles for one context's edges.

    ``support`` is how far the winner's PageRank stands above the runner-up's; a context without
    edges has no winner. Cycles are the strongly connected components with more than one value.
    """
    node_list = sorted(
        set(nodes) | {e.from_id for e in edges} | {e.to_id for e in edges}, key=_sort_key
    )
    ranks = pagerank(node_list, [(e.from_id, e.to_id, e.strength) for e in edges])
    winner, support = None, 0.0
    if edges:
        ordered = sorted(ranks.items(), key=lambda item: (-item[1], _sort_key(item[0])))
        winner = ordered[0][0]
        support = ordered[0][1] - ordered[1][1] if len(ordered) > 1 else ordered[0][1]
    graph = nx.DiGraph()
    graph.add_edges_from((e.from_id, e.to_id) for e in edges)
    cycles = [
        sorted(component, key=_sort_key)
        for component in nx.strongly_connected_components(graph)
        if len(component) > 1
    ]
    cycles.sort(key=lambda component: _sort_key(component[0]))
    return ContextScore(pagerank=ranks, winner=winner, support=support, cycles=cycles)


def build(
    votes: Iterable[Sequence], *, rule: str = MAJORITY, min_votes: int = DEFAULT_MIN_VOTES
) -> MoralGraph:
    """Return the moral graph of ``votes`` under ``rule``, scored per context.

    Each context is scored over the values voted on in it, with the edges that list it.
    """
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; expected one of {', '.join(RULES)}")
    votes = list(votes)
    if rule == MAJORITY:
        edges = majority_edges(votes, min_votes=min_votes)
    else:
        edges = dft_2023_edges(votes)
    nodes_by_context: dict[Hashable, set] = defaultdict(set)
    for _voter, from_id, to_id, context_id, _choice in votes:
        nodes_by_context[context_id].update((from_id, to_id))
    edges_by_context: dict[Hashable, list[Edge]] = defaultdict(list)
    for edge in edges:
        for context_id in edge.contexts:
            edges_by_context[context_id].append(edge)
    scores = {
        context_id: score_context(nodes, edges_by_context.get(context_id, []))
        for context_id, nodes in sorted(
            nodes_by_context.items(), key=lambda item: _sort_key(item[0])
        )
    }
    value_ids = set().union(*nodes_by_context.values()) if nodes_by_context else set()
    return MoralGraph(rule=rule, edges=edges, scores=scores, value_ids=value_ids)


WINNER_RESAMPLES = 100
# Votes rebuilt in all resamples together: a large deliberation gets fewer resamples (at least
# MIN_WINNER_RESAMPLES) so a recompute stays within seconds; the document says how many.
WINNER_RESAMPLE_VOTE_BUDGET = 1_000_000
MIN_WINNER_RESAMPLES = 10
CLEAR_WINNER_SHARE = 0.8


def winner_resamples(n_votes: int) -> int:
    """Return how many voter resamples :func:`winner_stability` draws for ``n_votes`` votes."""
    if n_votes <= 0:
        return WINNER_RESAMPLES
    fitting = WINNER_RESAMPLE_VOTE_BUDGET // n_votes
    return max(MIN_WINNER_RESAMPLES, min(WINNER_RESAMPLES, fitting))


def winner_stability(
    votes: Iterable[Sequence],
    *,
    rule: str = MAJORITY,
    min_votes: int = DEFAULT_MIN_VOTES,
    built: MoralGraph | None = None,
    resamples: int | None = None,
    seed: int = 0,
    contexts: Iterable[Hashable] | None = None,
) -> dict:
    """Return, per context with a winner (of ``contexts`` if given), the share of bootstrap
    resamples of the voters in which the same value wins (and is not tied); ``resamples``
    defaults to :func:`winner_resamples` of the number of votes.

    Each resample draws as many voters as voted, with replacement, keeping all of each drawn
    voter's votes (a voter drawn twice counts as two people), and rebuilds the graph under
    ``rule``. The seed makes the figure the same on every recompute of the same votes.
    """
    votes = list(votes)
    resamples = resamples or winner_resamples(len(votes))
    built = built or build(votes, rule=rule, min_votes=min_votes)
    winners = {
        context_id: score.winner
        for context_id, score in built.scores.items()
        if score.winner is not None and score.support > 1e-9
    }
    if contexts is not None:
        wanted = set(contexts)
        winners = {key: winner for key, winner in winners.items() if key in wanted}
    if not winners:
        return {}
    by_voter: dict[Hashable, list[Sequence]] = defaultdict(list)
    for vote in votes:
        by_voter[vote[0]].append(vote)
    voters = sorted(by_voter, key=_sort_key)
    if contexts is not None:
        # Only votes on pairs voted in these contexts can change their edges (under either rule);
        # every voter keeps their place in the draw, so the resamples are the same.
        pairs = {frozenset(vote[1:3]) for vote in votes if vote[3] in winners}
        by_voter = {
            voter: [vote for vote in cast if frozenset(vote[1:3]) in pairs]
            for voter, cast in by_voter.items()
        }
    generator = np.random.default_rng(seed)
    same: Counter = Counter()
    for _ in range(resamples):
        draws = generator.integers(0, len(voters), size=len(voters))
        sample = [
            (draw_index, vote[1], vote[2], vote[3], vote[4])
            for draw_index, voter_index in enumerate(draws)
            for vote in by_voter[voters[voter_index]]
        ]
        resampled = _context_winners(sample, rule=rule, min_votes=min_votes, only=set(winners))
        for context_id, winner in winners.items():
            if resampled.get(context_id) == winner:
                same[context_id] += 1
    return {context_id: same[context_id] / resamples for context_id in winners}


def _context_winners(
    votes: list[Sequence], *, rule: str, min_votes: int, only: set | None = None
) -> dict:
    """Return each context's (of ``only``, if given) untied winner, as :func:`build` would
    pick it (without cycles)."""
    edges = (
        majority_edges(votes, min_votes=min_votes) if rule == MAJORITY else dft_2023_edges(votes)
    )
    nodes_by_context: dict[Hashable, set] = defaultdict(set)
    for _voter, from_id, to_id, context_id, _choice in votes:
        if only is None or context_id in only:
            nodes_by_context[context_id].update((from_id, to_id))
    edges_by_context: dict[Hashable, list[Edge]] = defaultdict(list)
    for edge in edges:
        for context_id in edge.contexts:
            edges_by_context[context_id].append(edge)
    winners = {}
    for context_id, context_edges in edges_by_context.items():
        if only is not None and context_id not in only:
            continue
        nodes = sorted(
            nodes_by_context[context_id]
            | {e.from_id for e in context_edges}
            | {e.to_id for e in context_edges},
            key=_sort_key,
        )
        ranks = pagerank(nodes, [(e.from_id, e.to_id, e.strength) for e in context_edges])
        ordered = sorted(ranks.items(), key=lambda item: (-item[1], _sort_key(item[0])))
        lead = ordered[0][1] - ordered[1][1] if len(ordered) > 1 else ordered[0][1]
        if lead > 1e-9:
            winners[context_id] = ordered[0][0]
    return winners


@dataclass(slots=True)
class Preferences:
    """The graph's training pairs: ``(context, edge)`` for each pair the rule made an edge in
    one direction only, and how many it left out (lines are counted per context and pair)."""

    kept: list[tuple[Hashable, Edge]]
    two_way: int  # edges both ways in a context: a two-value cycle, no preference
    tied: int  # enough votes, no edge either way: the voters split evenly

    def summary(self) -> dict[str, int]:
        """Return the counts the export reports: kept and left out (two-way, tied)."""
        return {"kept": len(self.kept), "two_way": self.two_way, "tied": self.tied}


def preferences(
    graph: MoralGraph, votes: Iterable[Sequence], *, min_votes: int = DEFAULT_MIN_VOTES
) -> Preferences:
    """Return the pairs of ``graph`` a model may be trained on, never contradicting each other.

    Per context, a pair of values with an edge each way (``A → B`` and ``B → A``) is left out
    and counted as two-way. A pair that enough people voted on but that has no edge either way
    is counted as tied: under majority, wiser and not-wiser votes were equal on an ordering
    voted by at least ``min_votes`` people; under dft-2023, each direction drew as many wiser
    votes (at least the rule's minimum) as the other.
    """
    directions: dict[tuple, list[Edge]] = defaultdict(list)
    for edge in graph.edges:
        for context_id in edge.contexts:
            pair = frozenset((edge.from_id, edge.to_id))
            directions[(context_id, pair)].append(edge)
    kept, two_way = [], 0
    for (context_id, _pair), edges in directions.items():
        if len(edges) == 1:
            kept.append((context_id, edges[0]))
        else:
            two_way += 1
    kept.sort(
        key=lambda item: (
            _sort_key(item[0]),
            _sort_key(item[1].from_id),
            _sort_key(item[1].to_id),
        )
    )
    return Preferences(kept=kept, two_way=two_way, tied=_tied_pairs(graph, votes, min_votes))


def _tied_pairs(graph: MoralGraph, votes: Iterable[Sequence], min_votes: int) -> int:
    tallies: Counter = Counter()
    voters: dict[tuple, set] = defaultdict(set)
    contexts: dict[frozenset, set] = defaultdict(set)
    for voter, from_id, to_id, context_id, choice in votes:
        tallies[(from_id, to_id, context_id, choice)] += 1
        voters[(from_id, to_id, context_id)].add(voter)
        contexts[frozenset((from_id, to_id))].add(context_id)
    with_edge = {
        (context_id, frozenset((edge.from_id, edge.to_id)))
        for edge in graph.edges
        for context_id in edge.contexts
    }
    tied: set[tuple] = set()
    if graph.rule == MAJORITY:
        for (from_id, to_id, context_id), people in voters.items():
            wiser = tallies[(from_id, to_id, context_id, WISER)]
            if (
                len(people) >= min_votes
                and wiser
                and wiser == tallies[(from_id, to_id, context_id, NOT_WISER)]
            ):
                tied.add((context_id, frozenset((from_id, to_id))))
    else:
        pooled: Counter = Counter()
        for (from_id, to_id, _context, choice), count in tallies.items():
            if choice == WISER:
                pooled[(from_id, to_id)] += count
        for (from_id, to_id), wiser in pooled.items():
            if wiser >= DFT_MIN_WISER and pooled.get((to_id, from_id)) == wiser:
                pair = frozenset((from_id, to_id))
                tied.update((context_id, pair) for context_id in contexts[pair])
    return len(tied - with_edge)


def edge_as_dict(edge: Edge) -> dict:
    """Return ``edge`` in graph.json's shape."""
    data = {
        "from": edge.from_id,
        "to": edge.to_id,
        "contexts": list(edge.contexts),
        "counts": edge.counts(),
        "strength": edge.strength,
    }
    if edge.entropy is not None:
        data["entropy"] = edge.entropy
    return data


def to_json(graph: MoralGraph, *, values: Iterable[Mapping], contexts: Iterable[Mapping]) -> dict:
    """Return the contracts' ``graph.json`` document.

    ``values`` is a catalogue of ``{"id", "title", "description", "policies", "source_id"?}``;
    only the values that received a vote appear. ``analysis`` (an addition to the contract)
    carries each context's winner, support and cycles.
    """
    return {
        "scheme": SCHEME,
        "rule": graph.rule,
        "values": [_value_dict(value) for value in values if value["id"] in graph.value_ids],
        "contexts": [{"id": context["id"], "text": context["text"]} for context in contexts],
        "edges": [edge_as_dict(edge) for edge in graph.edges],
        "scores": {str(context_id): score.pagerank for context_id, score in graph.scores.items()},
        "analysis": {
            str(context_id): {
                "winner": score.winner,
                "support": score.support,
                "cycles": score.cycles,
            }
            for context_id, score in graph.scores.items()
        },
    }


def _value_dict(value: Mapping) -> dict:
    data = {key: value[key] for key in ("id", "title", "description", "policies")}
    if value.get("source_id") not in (None, ""):
        data["source_id"] = value["source_id"]
    return data


def edges_by_context(graph: MoralGraph) -> dict[Hashable, list[Edge]]:
    """Return the graph's edges grouped by the contexts they list."""
    grouped: dict[Hashable, list[Edge]] = defaultdict(list)
    for edge in graph.edges:
        for context_id in edge.contexts:
            grouped[context_id].append(edge)
    return grouped


def context_view(
    graph: MoralGraph, context_id: Hashable, *, grouped: Mapping | None = None
) -> dict:
    """Return what the explorer draws for one context: ranked values, edges, winner, cycles.

    Pass ``grouped`` (from ``edges_by_context``) when viewing many contexts of one graph.
    """
    score = graph.scores.get(context_id)
    if score is None:
        return {"context": context_id, "values": [], "edges": [], "winner": None, "cycles": []}
    if grouped is None:
        context_edges = [edge for edge in graph.edges if context_id in edge.contexts]
    else:
        context_edges = grouped.get(context_id, [])
    edges = [edge_as_dict(edge) for edge in context_edges]
    ranked = sorted(score.pagerank.items(), key=lambda item: -item[1])
    return {
        "context": context_id,
        "values": [{"id": value_id, "pagerank": rank} for value_id, rank in ranked],
        "edges": edges,
        "winner": score.winner,
        "support": score.support,
        "cycles": score.cycles,
    }


def to_networkx(document: Mapping) -> nx.MultiDiGraph:
    """Return a graph.json ``document`` as a networkx multigraph (one edge per edge entry)."""
    graph = nx.MultiDiGraph(scheme=document["scheme"], rule=document["rule"])
    texts = {str(context["id"]): context["text"] for context in document.get("contexts", [])}
    scores = document.get("scores", {})
    for value in document["values"]:
        # One scalar per context (Gephi reads no lists): the value's PageRank there.
        per_context = {
            f"score_context_{context_id}": ranks[value["id"]]
            for context_id, ranks in scores.items()
            if value["id"] in ranks
        }
        graph.add_node(
            value["id"],
            label=value["title"],
            title=value["title"],
            description=value["description"],
            policies=list(value["policies"]),
            source_id=value.get("source_id", ""),
            **per_context,
        )
    for edge in document["edges"]:
        graph.add_edge(
            edge["from"],
            edge["to"],
            contexts=list(edge["contexts"]),
            context_names=" | ".join(texts.get(str(c), str(c)) for c in edge["contexts"]),
            weight=edge["strength"],
            strength=edge["strength"],
            **{key: count for key, count in edge["counts"].items()},
        )
    return graph


def _graphml_safe(value: object) -> object:
    # GraphML holds only scalars: lists become JSON text, None an empty string.
    if value is None:
        return ""
    if isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, ensure_ascii=False)


def to_graphml(document: Mapping) -> str:
    """Return a graph.json ``document`` as GraphML text (opens in Gephi).

    Edges carry ``context_names`` beside the ids; nodes carry ``score_context_<id>``, their
    PageRank in each context; the graph names each context as ``context_<id>``.
    """
    graph = to_networkx(document)
    names = {f"context_{c['id']}": c["text"] for c in document.get("contexts", [])}
    safe = nx.MultiDiGraph(**{k: _graphml_safe(v) for k, v in graph.graph.items()}, **names)
    safe.add_nodes_from(
        (node, {k: _graphml_safe(v) for k, v in data.items()})
        for node, data in graph.nodes(data=True)
    )
    safe.add_edges_from(
        (a, b, key, {k: _graphml_safe(v) for k, v in data.items()})
        for a, b, key, data in graph.edges(keys=True, data=True)
    )
    buffer = io.BytesIO()
    nx.write_graphml(safe, buffer, encoding="utf-8")
    return buffer.getvalue().decode("utf-8")


def to_node_link(document: Mapping) -> dict:
    """Return a graph.json ``document`` as networkx node-link data (edges under ``"edges"``)."""
    return nx.node_link_data(to_networkx(document), edges="edges")


FORMATS = {
    "json": "application/json",
    "graphml": "application/graphml+xml",
    "node-link": "application/json",
}


def render(document: Mapping, fmt: str = "json") -> str:
    """Return a graph.json ``document`` as text in ``fmt``: json, graphml or node-link."""
    if fmt == "json":
        return json.dumps(document, ensure_ascii=False, indent=1)
    if fmt == "graphml":
        return to_graphml(document)
    if fmt == "node-link":
        return json.dumps(to_node_link(document), ensure_ascii=False, indent=1)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
