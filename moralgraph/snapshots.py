"""Per-context snapshots of the scored graph, recomputed off the request path as votes arrive.

A vote marks its context's snapshot changed (``changes + 1``, an F() update) and, when the
transaction commits, queues one recompute job for the deliberation unless one is already queued
(``GraphSettings.recompute_queued``, claimed with a conditional UPDATE): a burst of votes costs
one recompute. The job recomputes only the contexts whose snapshot is stale under ``majority``
(one edge per pair and context), and every context under ``dft-2023`` (which pools a pair's
votes across contexts). Small deliberations (at most ``MORALGRAPH_INLINE_MAX_VOTES`` votes,
default 5,000) are recomputed inline when a stale snapshot is read.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core.jobs import job_start
from elicitation.models import Deliberation, MoralContext, ValuesCard
from moralgraph import graph as moral_graph
from moralgraph.models import ContextSnapshot, GraphSettings, Rule, Vote

logger = logging.getLogger(__name__)

RECOMPUTE_JOB = "moralgraph.recompute"

RULE_TEXT = {
    Rule.MAJORITY: (
        "majority: an edge A → B in a context when Yes votes are a strict majority of Yes + No "
        "on that pair there and at least {min_votes} people voted on it; strength = Yes / "
        "(Yes + No)."
    ),
    Rule.DFT_2023: (
        "dft-2023 (the published MGE study's rule): a pair's votes pooled across contexts; "
        "W = Yes, N = No, U = Not sure on A → B, L = Yes on B → A, I = all votes on the pair; "
        "wiserLikelihood = (W − L) / (W + N + U + L); keep A → B when W ≥ 2, wiserLikelihood ≥ "
        "0.33 and the entropy of (W, N, U, L, I) ≤ 1.69 bits; strength = wiserLikelihood."
    ),
}


def inline_max_votes() -> int:
    """Return ``MORALGRAPH_INLINE_MAX_VOTES``: up to this many votes, recompute on read."""
    return int(getattr(settings, "MORALGRAPH_INLINE_MAX_VOTES", 5000))


def rule_text(rule: str, min_votes: int) -> str:
    """Return the rule in words, as the explorer shows it beside the graph."""
    return RULE_TEXT[rule].format(min_votes=min_votes)


def context_document(
    built: moral_graph.MoralGraph,
    *,
    context: MoralContext,
    titles: dict[int, str],
    min_votes: int,
    grouped: dict | None = None,
    winner_share: float | None = None,
    winner_resamples: int | None = None,
) -> dict:
    """Return the explorer's data for one context of ``built``: values ranked, edges, analysis.

    ``winner_share`` (from ``graph.winner_stability``) is how often the same value wins when
    the voters are resampled; below ``MORALGRAPH_CLEAR_WINNER`` (default 0.8) the context has
    no clear winner.
    """
    view = moral_graph.context_view(built, context.pk, grouped=grouped)
    in_cycle = {value for cycle in view["cycles"] for value in cycle}
    values = [
        {
            "id": value["id"],
            "title": titles.get(value["id"], ""),
            "pagerank": round(value["pagerank"], 6),
            "rank": position,
            "in_cycle": value["id"] in in_cycle,
        }
        for position, value in enumerate(view["values"], start=1)
    ]
    edges = []
    for edge in view["edges"]:
        item = {
            "from": edge["from"],
            "to": edge["to"],
            "counts": edge["counts"],
            "strength": round(edge["strength"], 4),
        }
        if "entropy" in edge:
            item["entropy"] = round(edge["entropy"], 4)
        edges.append(item)
    return {
        "context": {"id": context.pk, "text": context.text},
        "rule": built.rule,
        "rule_text": rule_text(built.rule, min_votes),
        "values": values,
        "edges": edges,
        "winner": view["winner"],
        "support": round(view.get("support", 0.0), 6),
        # A winner with no lead over the runner-up (e.g. two values in a cycle) is a tie.
        "tied": view["winner"] is not None and view.get("support", 0.0) < 1e-9,
        "winner_share": None if winner_share is None else round(winner_share, 3),
        "winner_resamples": winner_resamples,
        "clear_winner": (
            view["winner"] is not None
            and view.get("support", 0.0) >= 1e-9
            and (winner_share or 0.0) >= clear_winner_share()
        ),
        "clear_winner_share": clear_winner_share(),
        "cycles": view["cycles"],
    }


def clear_winner_share() -> float:
    """Return ``MORALGRAPH_CLEAR_WINNER``: how often (share of voter resamples) the same value
    must win before the explorer names it the winner."""
    return float(getattr(settings, "MORALGRAPH_CLEAR_WINNER", moral_graph.CLEAR_WINNER_SHARE))


def _rule_and_min_votes(deliberation: Deliberation) -> tuple[str, int]:
    from moralgraph.selectors import min_votes, rule_for

    return rule_for(deliberation), min_votes()


def snapshots_recompute(*, deliberation: Deliberation, force: bool = False) -> dict:
    """Recompute the stale context snapshots of ``deliberation`` (all with ``force``); return
    how many contexts were recomputed and their vote count."""
    rule, min_votes = _rule_and_min_votes(deliberation)
    contexts = {c.pk: c for c in MoralContext.objects.filter(deliberation=deliberation)}
    existing = set(
        ContextSnapshot.objects.filter(context_id__in=contexts).values_list("context_id", flat=True)
    )
    ContextSnapshot.objects.bulk_create(
        [
            ContextSnapshot(deliberation=deliberation, context_id=pk)
            for pk in contexts
            if pk not in existing
        ],
        ignore_conflicts=True,
    )
    # What each snapshot's counter says now: votes committed later bump it past this.
    seen = dict(
        ContextSnapshot.objects.filter(context_id__in=contexts).values_list("context_id", "changes")
    )
    stale_rows = ContextSnapshot.objects.filter(context_id__in=contexts)
    if not force:
        stale_rows = stale_rows.exclude(computed_changes=F("changes"), computed__isnull=False)
        if rule != Rule.MAJORITY and stale_rows.exists():
            stale_rows = ContextSnapshot.objects.filter(context_id__in=contexts)
    stale = set(stale_rows.values_list("context_id", flat=True))
    if not stale:
        return {"contexts": 0, "votes": 0}
    votes = Vote.objects.filter(deliberation=deliberation, counted=True)
    if rule == Rule.MAJORITY:
        votes = votes.filter(context_id__in=stale)
    tuples = list(
        votes.values_list("voter_id", "from_card_id", "to_card_id", "context_id", "choice")
    )
    built = moral_graph.build(tuples, rule=rule, min_votes=min_votes)
    titles = dict(ValuesCard.objects.filter(pk__in=built.value_ids).values_list("pk", "title"))
    grouped = moral_graph.edges_by_context(built)
    shares = moral_graph.winner_stability(tuples, rule=rule, min_votes=min_votes, built=built)
    now = timezone.now()
    for context_id in sorted(stale):
        document = context_document(
            built,
            context=contexts[context_id],
            titles=titles,
            min_votes=min_votes,
            grouped=grouped,
            winner_share=shares.get(context_id),
            winner_resamples=moral_graph.winner_resamples(len(tuples)),
        )
        ContextSnapshot.objects.filter(context_id=context_id).update(
            rule=rule,
            document=json.dumps(document, ensure_ascii=False, separators=(",", ":")),
            n_values=len(document["values"]),
            n_edges=len(document["edges"]),
            computed_changes=seen.get(context_id, 0),
            computed=now,
        )
    return {"contexts": len(stale), "votes": len(tuples)}


def snapshots_mark_changed(*, deliberation: Deliberation, context_ids: list[int]) -> None:
    """Mark the contexts' snapshots stale and queue one recompute when the transaction commits."""
    for context_id in sorted(set(context_ids)):
        # Make sure the row exists first: an UPDATE of a missing row would lose the change.
        ContextSnapshot.objects.get_or_create(
            context_id=context_id, defaults={"deliberation": deliberation}
        )
        ContextSnapshot.objects.filter(context_id=context_id).update(changes=F("changes") + 1)
    transaction.on_commit(lambda: recompute_schedule(deliberation=deliberation))


def recompute_schedule(*, deliberation: Deliberation) -> bool:
    """Queue a recompute job for ``deliberation`` unless one is queued; return whether queued."""
    GraphSettings.objects.get_or_create(deliberation=deliberation)
    now = timezone.now()
    lost = now - timedelta(seconds=getattr(settings, "JOB_STALE_SECONDS", 600))
    won = (
        GraphSettings.objects.filter(deliberation=deliberation)
        .filter(Q(recompute_queued__isnull=True) | Q(recompute_queued__lt=lost))
        .update(recompute_queued=now)
    )
    if won:
        job_start(kind=RECOMPUTE_JOB, params={"deliberation": deliberation.pk})
    return bool(won)


def recompute_claim(*, deliberation: Deliberation) -> None:
    """Clear the pending flag as a recompute starts: votes from now on queue the next one."""
    GraphSettings.objects.filter(deliberation=deliberation).update(recompute_queued=None)


def snapshot_for_context(*, context: MoralContext) -> tuple[str | None, bool]:
    """Return the context's explorer JSON text (None if never computed) and whether it is stale.

    A stale snapshot of a small deliberation is recomputed here; a large one's is served as it
    is while its recompute job runs (one is queued if none is).
    """
    snapshot = ContextSnapshot.objects.filter(context=context).first()
    if snapshot is not None and not snapshot.is_stale:
        return snapshot.document, False
    deliberation = context.deliberation
    if Vote.objects.filter(deliberation=deliberation).count() <= inline_max_votes():
        snapshots_recompute(deliberation=deliberation)
        snapshot = ContextSnapshot.objects.get(context=context)
        return snapshot.document, False
    transaction.on_commit(lambda: recompute_schedule(deliberation=deliberation))
    if snapshot is None or snapshot.computed is None:
        return None, True
    return snapshot.document, True
