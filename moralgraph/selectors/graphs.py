"""Reads of the graph itself: deliberations, their counted votes, and the graph built from them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from django.conf import settings
from django.db.models import Count, QuerySet

from elicitation.models import Deliberation, MoralContext, ValuesCard
from moralgraph import graph as moral_graph
from moralgraph.models import GraphSettings, Rule, UpgradeStory, Vote


def deliberations_with_counts() -> list[Deliberation]:
    """Return every deliberation (by name) with ``n_contexts``, ``n_stories`` and ``n_votes``.

    Each count is its own grouped query: counting three joins in one query multiplies their
    rows (stories × votes × contexts: seconds on the MGE study).
    """

    deliberations = list(Deliberation.objects.order_by("name"))
    tables = {
        "n_contexts": MoralContext.objects.all(),
        "n_stories": UpgradeStory.objects.all(),
        "n_votes": Vote.objects.all(),
    }
    for name, rows in tables.items():
        counts = dict(rows.values_list("deliberation_id").annotate(n=Count("pk")).order_by())
        for deliberation in deliberations:
            setattr(deliberation, name, counts.get(deliberation.pk, 0))
    return deliberations


def rule_for(deliberation: Deliberation) -> str:
    """Return the rule the deliberation's graph is built with (majority unless set)."""
    settings_row = GraphSettings.objects.filter(deliberation=deliberation).first()
    return settings_row.rule if settings_row else Rule.MAJORITY


def min_votes() -> int:
    """Return ``MORALGRAPH_MIN_VOTES`` (default 2): how many people must vote before an edge."""
    return int(getattr(settings, "MORALGRAPH_MIN_VOTES", moral_graph.DEFAULT_MIN_VOTES))


def votes_counted(
    *, deliberation: Deliberation, before: date | None = None, include_uncounted: bool = False
) -> QuerySet[Vote]:
    """Return the deliberation's counted votes, only those cast before ``before`` if set.

    ``include_uncounted`` adds the votes marked as not counting (``Vote.counted``).
    """
    votes = Vote.objects.filter(deliberation=deliberation)
    if not include_uncounted:
        votes = votes.filter(counted=True)
    if before is not None:
        votes = votes.filter(created__lt=datetime.combine(before, time.min, tzinfo=UTC))
    return votes


def vote_tuples(
    *, deliberation: Deliberation, before: date | None = None, include_uncounted: bool = False
) -> list[tuple[int, int, int, int, str]]:
    """Return ``(voter, from card, to card, context, choice)`` for every vote counted."""
    votes = votes_counted(
        deliberation=deliberation, before=before, include_uncounted=include_uncounted
    )
    return list(votes.values_list("voter_id", "from_card_id", "to_card_id", "context_id", "choice"))


def graph_for_deliberation(
    *,
    deliberation: Deliberation,
    rule: str | None = None,
    before: date | None = None,
    include_uncounted: bool = False,
) -> tuple[moral_graph.MoralGraph, dict]:
    """Return the deliberation's scored graph and its ``graph.json`` document.

    The document's values are the canonical cards that received a counted vote.
    """
    rule = rule or rule_for(deliberation)
    built = moral_graph.build(
        vote_tuples(deliberation=deliberation, before=before, include_uncounted=include_uncounted),
        rule=rule,
        min_votes=min_votes(),
    )
    cards = ValuesCard.objects.filter(pk__in=built.value_ids).order_by("pk")
    values = [
        {
            "id": card.pk,
            "title": card.title,
            "description": card.description,
            "policies": card.policies,
            "source_id": card.source_id,
        }
        for card in cards
    ]
    contexts = [
        {"id": context.pk, "text": context.text}
        for context in MoralContext.objects.filter(deliberation=deliberation).order_by("pk")
    ]
    return built, moral_graph.to_json(built, values=values, contexts=contexts)


def deliberation_named(name: str) -> Deliberation | None:
    """Return the deliberation called ``name``, or None."""
    return Deliberation.objects.filter(name=name).first()
