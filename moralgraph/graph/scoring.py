"""Score a graph's edges per context with PageRank, and what follows from the scores.

Each context's winner, its support and cycles; how stable the winners are under resampled
voters; the pairs a model may be trained on. Pure computation (numpy, networkx).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from moralgraph.graph.rules import (
    DEFAULT_MIN_VOTES,
    DFT_MIN_WISER,
    MAJORITY,
    NOT_WISER,
    RULES,
    WISER,
    Edge,
    dft_2023_edges,
    majority_edges,
    sort_key,
)

PAGERANK_ALPHA = 0.85


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
        set(nodes) | {e.from_id for e in edges} | {e.to_id for e in edges}, key=sort_key
    )
    ranks = pagerank(node_list, [(e.from_id, e.to_id, e.strength) for e in edges])
    winner, support = None, 0.0
    if edges:
        ordered = sorted(ranks.items(), key=lambda item: (-item[1], sort_key(item[0])))
        winner = ordered[0][0]
        support = ordered[0][1] - ordered[1][1] if len(ordered) > 1 else ordered[0][1]
    graph = nx.DiGraph()
    graph.add_edges_from((e.from_id, e.to_id) for e in edges)
    cycles = [
        sorted(component, key=sort_key)
        for component in nx.strongly_connected_components(graph)
        if len(component) > 1
    ]
    cycles.sort(key=lambda component: sort_key(component[0]))
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
            nodes_by_context.items(), key=lambda item: sort_key(item[0])
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
    voters = sorted(by_voter, key=sort_key)
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
            key=sort_key,
        )
        ranks = pagerank(nodes, [(e.from_id, e.to_id, e.strength) for e in context_edges])
        ordered = sorted(ranks.items(), key=lambda item: (-item[1], sort_key(item[0])))
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
            sort_key(item[0]),
            sort_key(item[1].from_id),
            sort_key(item[1].to_id),
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
