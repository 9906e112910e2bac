"""Reads of the moral graph: votes as tuples, and the graph and preference pairs built on them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from django.conf import settings
from django.db.models import QuerySet

from elicitation.models import Deliberation, MoralContext, ValuesCard
from elicitation.selectors import card_as_contract
from moralgraph import graph as moral_graph
from moralgraph.models import GraphSettings, Rule, Vote


def rule_for(deliberation: Deliberation) -> str:
    """Return the rule the deliberation's graph is built with (majority unless set)."""
    settings_row = GraphSettings.objects.filter(deliberation=deliberation).first()
    return settings_row.rule if settings_row else Rule.MAJORITY


def min_votes() -> int:
    """Return ``MORALGRAPH_MIN_VOTES`` (default 2): how many people must vote before an edge."""
    return int(getattr(settings, "MORALGRAPH_MIN_VOTES", moral_graph.DEFAULT_MIN_VOTES))


def votes_counted(*, deliberation: Deliberation, before: date | None = None) -> QuerySet[Vote]:
    """Return the deliberation's votes, only those cast before ``before`` (UTC midnight) if set."""
    votes = Vote.objects.filter(deliberation=deliberation)
    if before is not None:
        votes = votes.filter(created__lt=datetime.combine(before, time.min, tzinfo=UTC))
    return votes


def vote_tuples(
    *, deliberation: Deliberation, before: date | None = None
) -> list[tuple[int, int, int, int, str]]:
    """Return ``(voter, from card, to card, context, choice)`` for every vote counted."""
    return list(
        votes_counted(deliberation=deliberation, before=before).values_list(
            "voter_id", "from_card_id", "to_card_id", "context_id", "choice"
        )
    )


def graph_for_deliberation(
    *, deliberation: Deliberation, rule: str | None = None, before: date | None = None
) -> tuple[moral_graph.MoralGraph, dict]:
    """Return the deliberation's scored graph and its ``graph.json`` document.

    The document's values are the canonical cards that received a counted vote.
    """
    rule = rule or rule_for(deliberation)
    built = moral_graph.build(
        vote_tuples(deliberation=deliberation, before=before), rule=rule, min_votes=min_votes()
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


def preferences_for_deliberation(
    *, deliberation: Deliberation, rule: str | None = None, before: date | None = None
) -> list[dict]:
    """Return one preference per context and edge: the wiser card, the less wise one, the counts.

    The training app turns these into DPO pairs; ``counts`` are the edge's (pooled across
    contexts under dft-2023).
    """
    built, _document = graph_for_deliberation(deliberation=deliberation, rule=rule, before=before)
    card_ids = {edge.from_id for edge in built.edges} | {edge.to_id for edge in built.edges}
    cards = ValuesCard.objects.select_related("author").in_bulk(card_ids)
    contexts = MoralContext.objects.filter(deliberation=deliberation).in_bulk()
    lines = []
    for edge in built.edges:
        for context_id in edge.contexts:
            lines.append(
                {
                    "context": contexts[context_id].text,
                    "context_id": context_id,
                    "wiser": card_as_contract(cards[edge.to_id]),
                    "less_wise": card_as_contract(cards[edge.from_id]),
                    "counts": edge.counts(),
                    "rule": built.rule,
                }
            )
    lines.sort(key=lambda line: (line["context_id"], line["less_wise"]["id"], line["wiser"]["id"]))
    return lines
