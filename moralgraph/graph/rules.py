"""Turn wiser-than votes into edges: the majority rule and the published study's dft-2023 rule.

Pure computation: plain tuples in, ``Edge`` rows out; no database, no Django.
A vote ``(voter, from_id, to_id, context_id, choice)`` answers "is ``to`` wiser than ``from`` in
this context?"; an edge ``from → to`` means the voters, by the rule, said yes.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

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
            sort_key(edge.contexts[0]),
            sort_key(edge.from_id),
            sort_key(edge.to_id),
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
                    contexts=tuple(sorted(pair_contexts, key=sort_key)),
                    wiser=wiser,
                    not_wiser=not_wiser,
                    unsure=unsure,
                    strength=wiser_likelihood,
                    less_wise=less_wise,
                    impressions=impressions,
                    entropy=entropy,
                )
            )
    edges.sort(key=lambda edge: (sort_key(edge.from_id), sort_key(edge.to_id)))
    return edges


def sort_key(value: Hashable) -> tuple:
    # Ids may be ints or strings; sort ints numerically and never compare an int with a str.
    return (0, value, "") if isinstance(value, int) else (1, 0, str(value))
