"""Reads for the explorer's pages: voter groups, one context's document, a value's and a
pair's details, and where a voter's values ended up."""

from __future__ import annotations

import json

from django.db.models import Count, Q, QuerySet

from elicitation.models import Deliberation, MoralContext, ValuesCard
from elicitation.selectors import card_as_contract
from moralgraph import graph as moral_graph
from moralgraph.models import Rule, UpgradeStory, Vote, VoterAttribute
from moralgraph.selectors.graphs import min_votes, rule_for
from moralgraph.selectors.voting import own_value_ids

# ``?group=`` of the explorer: a study's slug, or ``attr:<name>=<value>`` (a voter attribute).
ATTRIBUTE_GROUP = "attr:"


def voter_groups(*, deliberation: Deliberation) -> list[dict]:
    """Return the voter attributes of ``deliberation``'s voters as explorer groups.

    Each is ``{"key", "name", "value", "n"}`` with ``n`` the voters in the group who voted
    here, by attribute name then value.
    """
    rows = (
        VoterAttribute.objects.filter(voter__moral_graph_votes__deliberation=deliberation)
        .values_list("name", "value")
        .annotate(n=Count("voter_id", distinct=True))
        .order_by("name", "value")
    )
    return [
        {"key": f"{ATTRIBUTE_GROUP}{name}={value}", "name": name, "value": value, "n": n}
        for name, value, n in rows
    ]


def parse_group(group: str) -> tuple[str, str] | None:
    """Return ``(name, value)`` for an attribute group key, None for a study slug."""
    if not group.startswith(ATTRIBUTE_GROUP) or "=" not in group:
        return None
    name, value = group[len(ATTRIBUTE_GROUP) :].split("=", 1)
    return name, value


def _group_votes(votes: QuerySet, group: str) -> QuerySet:
    attribute = parse_group(group)
    if attribute is None:
        return votes.filter(voter__participations__study__slug=group)
    name, value = attribute
    return votes.filter(voter__voter_attributes__name=name, voter__voter_attributes__value=value)


def explorer_document(*, context: MoralContext, group: str | None = None) -> tuple[str, bool]:
    """Return one context's explorer JSON text and whether it is stale.

    Unfiltered, it is the context's snapshot (recomputed off the request path for large
    deliberations). Filtered to a group of voters (the participants of one study, or the voters
    with one attribute: ``attr:<name>=<value>``) it is computed here from their votes, and says
    how many of the group's voters and votes it counts in this context.
    """
    from moralgraph.snapshots import context_document, snapshot_for_context

    if not group:
        text, stale = snapshot_for_context(context=context)
        if text is None:
            pending = {
                "context": {"id": context.pk, "text": context.text},
                "pending": True,
                "values": [],
                "edges": [],
                "cycles": [],
                "winner": None,
            }
            return json.dumps(pending), True
        return text, stale
    deliberation = context.deliberation
    votes = _group_votes(Vote.objects.filter(deliberation=deliberation), group)
    rule = rule_for(deliberation)
    if rule == Rule.MAJORITY:
        votes = votes.filter(context=context)
    tuples = list(
        votes.values_list("voter_id", "from_card_id", "to_card_id", "context_id", "choice")
    )
    built = moral_graph.build(tuples, rule=rule, min_votes=min_votes())
    titles = dict(ValuesCard.objects.filter(pk__in=built.value_ids).values_list("pk", "title"))
    shares = moral_graph.winner_stability(
        tuples, rule=rule, min_votes=min_votes(), built=built, contexts=[context.pk]
    )
    document = context_document(
        built,
        context=context,
        titles=titles,
        min_votes=min_votes(),
        winner_share=shares.get(context.pk),
        winner_resamples=moral_graph.winner_resamples(len(tuples)),
    )
    here = [vote for vote in tuples if vote[3] == context.pk]
    document["group"] = group
    document["group_voters"] = len({vote[0] for vote in here})
    document["group_votes"] = len(here)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")), False


def _counts(rows) -> dict[tuple[int, int], dict[str, int]]:
    counts: dict[tuple[int, int], dict[str, int]] = {}
    for from_id, to_id, choice, n in rows:
        pair = counts.setdefault((from_id, to_id), {"wiser": 0, "not_wiser": 0, "unsure": 0})
        pair[choice] = n
    return counts


def value_detail(*, deliberation: Deliberation, card: ValuesCard, context: MoralContext) -> dict:
    """Return a value's card and every voted pair involving it in ``context``, with counts."""
    rows = (
        Vote.objects.filter(deliberation=deliberation, context=context)
        .filter(Q(from_card=card) | Q(to_card=card))
        .values_list("from_card_id", "to_card_id", "choice")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = _counts(rows)
    others = {a for a, b in counts} | {b for a, b in counts}
    titles = dict(ValuesCard.objects.filter(pk__in=others).values_list("pk", "title"))
    pairs = [
        {
            "from": from_id,
            "from_title": titles.get(from_id, ""),
            "to": to_id,
            "to_title": titles.get(to_id, ""),
            "counts": pair_counts,
        }
        for (from_id, to_id), pair_counts in sorted(counts.items())
    ]
    return {
        "card": {**card_as_contract(card), "source_id": card.source_id},
        "context": {"id": context.pk, "text": context.text},
        "pairs": pairs,
        "duplicates": card.duplicates.count(),
    }


def pair_detail(
    *, deliberation: Deliberation, from_card: ValuesCard, to_card: ValuesCard, context: MoralContext
) -> dict:
    """Return a pair in a context: counts both ways, every story told of it, voters' comments."""
    both = Q(context=context) & (
        Q(from_card=from_card, to_card=to_card) | Q(from_card=to_card, to_card=from_card)
    )
    rows = (
        Vote.objects.filter(both, deliberation=deliberation)
        .values_list("from_card_id", "to_card_id", "choice")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = _counts(rows)
    empty = {"wiser": 0, "not_wiser": 0, "unsure": 0}
    stories = [
        {
            "id": story.pk,
            "from": story.from_card_id,
            "to": story.to_card_id,
            "story": story.story,
            "was_really_about": story.was_really_about,
            "policy_map": story.policy_map,
            "run_id": story.run_id,
            "prompt": f"{story.prompt_name} {story.prompt_version}".strip(),
            "created": story.created.isoformat(),
            # Every vote on a story followed a showing of it: an imported story (the MGE
            # study's) has votes but no impression rows, and was shown at least that often.
            "impressions": max(story.n_impressions, story.n_votes),
        }
        for story in UpgradeStory.objects.filter(both, deliberation=deliberation)
        .annotate(
            n_impressions=Count("impressions", distinct=True),
            n_votes=Count("votes", distinct=True),
        )
        .order_by("created", "pk")
    ]
    comments = [
        {
            "from": vote.from_card_id,
            "to": vote.to_card_id,
            "choice": vote.choice,
            "comment": vote.comment,
            "voter": vote.voter.pseudonym,
            "created": vote.created.isoformat(),
        }
        for vote in Vote.objects.filter(both, deliberation=deliberation)
        .exclude(comment="")
        .select_related("voter")
        .order_by("created", "pk")
    ]
    return {
        "context": {"id": context.pk, "text": context.text},
        "from": {"id": from_card.pk, "title": from_card.title},
        "to": {"id": to_card.pk, "title": to_card.title},
        "counts": counts.get((from_card.pk, to_card.pk), dict(empty)),
        "reverse_counts": counts.get((to_card.pk, from_card.pk), dict(empty)),
        "stories": stories,
        "comments": comments,
    }


def positions_for_voter(*, voter, deliberation: Deliberation) -> list[dict]:
    """Return where each of ``voter``'s values ended up in the contexts it was judged in.

    One entry per value and context: rank and PageRank among the context's values, the values
    judged wiser than it and those it was judged wiser than, and the voter's fairness answer.
    """
    from moralgraph.models import FairnessAnswer
    from moralgraph.snapshots import snapshot_for_context

    own = own_value_ids(voter=voter, deliberation=deliberation)
    if not own:
        return []
    context_ids = set(
        Vote.objects.filter(deliberation=deliberation)
        .filter(Q(from_card_id__in=own) | Q(to_card_id__in=own))
        .values_list("context_id", flat=True)
    )
    contexts = MoralContext.objects.filter(pk__in=context_ids).order_by("pk")
    cards = ValuesCard.objects.in_bulk(own)
    answers = {
        (a.card_id, a.context_id): a
        for a in FairnessAnswer.objects.filter(voter=voter, card_id__in=own)
    }
    positions = []
    for context in contexts:
        text, _stale = snapshot_for_context(context=context)
        if text is None:
            continue
        document = json.loads(text)
        ranked = {value["id"]: value for value in document["values"]}
        titles = {value["id"]: value["title"] for value in document["values"]}
        for value_id in sorted(own & set(ranked)):
            wiser = [e for e in document["edges"] if e["from"] == value_id]
            less_wise = [e for e in document["edges"] if e["to"] == value_id]
            positions.append(
                {
                    "card": cards[value_id],
                    "context": context,
                    "rank": ranked[value_id]["rank"],
                    "of": len(ranked),
                    "pagerank": ranked[value_id]["pagerank"],
                    "is_winner": document["winner"] == value_id
                    and document.get("clear_winner", True),
                    "wiser": [{"title": titles.get(e["to"], ""), **e} for e in wiser],
                    "less_wise": [{"title": titles.get(e["from"], ""), **e} for e in less_wise],
                    "answer": answers.get((value_id, context.pk)),
                }
            )
    return positions
