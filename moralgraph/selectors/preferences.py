"""Reads of the graph's preferences: the one-way edges a model may be trained on, as lines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from elicitation.models import Deliberation, MoralContext, Scenario, ValuesCard
from elicitation.selectors import card_as_contract
from moralgraph import graph as moral_graph
from moralgraph.selectors.graphs import min_votes, rule_for, vote_tuples


def preferences_for_deliberation(
    *, deliberation: Deliberation, rule: str | None = None, before: date | None = None
) -> list[dict]:
    """Return one preference per context and one-way edge: the wiser card, the less wise one,
    the counts and the strength.

    The training app turns these into DPO pairs; ``counts`` are the edge's (pooled across
    contexts under dft-2023). Pairs with an edge each way in a context are left out.
    """
    return list(preference_lines(deliberation=deliberation, rule=rule, before=before))


def preference_questions(
    *, scenario_ids: set[int], context_ids: set[int]
) -> tuple[dict[int, str], dict[int, list[str]]]:
    """Return each scenario's question, and the questions asked in each context (in order)."""
    questions = dict(Scenario.objects.filter(pk__in=scenario_ids).values_list("pk", "question"))
    by_context: dict[int, list[str]] = {}
    links = Scenario.contexts.through.objects.filter(moralcontext_id__in=context_ids)
    for context_id, question in links.order_by("scenario_id").values_list(
        "moralcontext_id", "scenario__question"
    ):
        by_context.setdefault(context_id, []).append(question)
    return questions, by_context


def preference_lines(
    *, deliberation: Deliberation, rule: str | None = None, before: date | None = None
) -> Iterator[dict]:
    """Return an iterator over the preferences of :func:`preferences_for_deliberation`, in the
    same order, each built only when asked for.

    The database is read here, before the first line: iterating needs no query (a response
    streaming the lines sends them after the view has returned).
    """
    lines, _summary = preference_export(deliberation=deliberation, rule=rule, before=before)
    return lines


def preference_export(
    *, deliberation: Deliberation, rule: str | None = None, before: date | None = None
) -> tuple[Iterator[dict], dict]:
    """Return the preference lines (as :func:`preference_lines`) and the export's summary:
    ``{"rule", "kept", "two_way", "tied"}``, the pairs kept and those left out as two-way
    cycles or ties (counted per context and pair)."""
    rule = rule or rule_for(deliberation)
    votes = vote_tuples(deliberation=deliberation, before=before)
    built = moral_graph.build(votes, rule=rule, min_votes=min_votes())
    chosen = moral_graph.preferences(built, votes, min_votes=min_votes())
    card_ids = {edge.from_id for _c, edge in chosen.kept} | {edge.to_id for _c, edge in chosen.kept}
    cards = ValuesCard.objects.select_related("author").in_bulk(card_ids)
    contexts = dict(
        MoralContext.objects.filter(deliberation=deliberation).values_list("pk", "text")
    )
    summary = {"rule": built.rule, **chosen.summary()}
    # Ordered by context, less wise card, wiser card: the cards' contract ids are their pks.
    return _preference_lines(chosen.kept, cards=cards, contexts=contexts, rule=built.rule), summary


def _preference_lines(
    kept: list[tuple[int, moral_graph.Edge]],
    *,
    cards: dict[int, ValuesCard],
    contexts: dict[int, str],
    rule: str,
) -> Iterator[dict]:
    for context_id, edge in kept:
        yield {
            "context": contexts[context_id],
            "context_id": context_id,
            "wiser": card_as_contract(cards[edge.to_id]),
            "less_wise": card_as_contract(cards[edge.from_id]),
            "counts": edge.counts(),
            "strength": edge.strength,
            "rule": rule,
        }


# --- the explorer and the participant's view -------------------------------------------------
