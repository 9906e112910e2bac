"""Which story a voter sees next: the pair-selection policy, explicit and configurable.

The policy (settings per deliberation in ``GraphSettings``):

1. A story shown to the voter and not yet voted on is shown again (a reload never skips a pair).
2. Candidates are the latest story of each ordered pair and context in the deliberation.
3. Never a pair the voter has already voted on or been shown, nor the reverse direction of one
   (so an answer is not anchored by the other direction's story).
4. Pairs involving the voter's own value (the canonical card of any card they wrote): at most
   ``own_value_pairs`` of them per voter (default 0: never).
5. Among the rest, a pair with ``v`` votes is drawn with weight ``1 / (1 + v) ** p``, where
   ``p = pair_weight_power`` (default 2; 0 draws uniformly), so votes spread over pairs.
"""

from __future__ import annotations

import random
from collections import Counter

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q

from core.models import User
from elicitation.models import Deliberation, MoralContext, ValuesCard
from moralgraph.models import GraphSettings, StoryImpression, UpgradeStory, Vote


def graph_settings(deliberation: Deliberation) -> GraphSettings:
    """Return the deliberation's graph settings (defaults when none were saved)."""
    return GraphSettings.objects.filter(deliberation=deliberation).first() or GraphSettings(
        deliberation=deliberation
    )


def own_value_ids(*, voter: User, deliberation: Deliberation) -> set[int]:
    """Return the ids of the values (canonical cards) of the cards ``voter`` wrote."""
    rows = ValuesCard.objects.filter(deliberation=deliberation, author=voter).values_list(
        "pk", "canonical_id"
    )
    return {canonical_id or pk for pk, canonical_id in rows}


def story_pending_for_voter(*, voter: User, deliberation: Deliberation) -> UpgradeStory | None:
    """Return the latest story shown to ``voter`` whose pair they have not voted on yet."""
    voted = Vote.objects.filter(voter=voter, deliberation=deliberation).values_list(
        "from_card_id", "to_card_id", "context_id"
    )
    voted = set(voted)
    impressions = (
        StoryImpression.objects.filter(voter=voter, story__deliberation=deliberation)
        .select_related("story")
        .order_by("-pk")
    )
    for impression in impressions:
        story = impression.story
        if (story.from_card_id, story.to_card_id, story.context_id) not in voted:
            return story
    return None


def story_next_for_voter(
    *, voter: User, deliberation: Deliberation, rng: random.Random | None = None
) -> UpgradeStory | None:
    """Return the story ``voter`` should judge next under the policy above, or None."""
    pending = story_pending_for_voter(voter=voter, deliberation=deliberation)
    if pending is not None:
        return pending
    latest, candidates = _candidate_pairs(voter=voter, deliberation=deliberation)
    if not candidates:
        return None
    policy = graph_settings(deliberation)
    vote_counts = pair_vote_counts(deliberation=deliberation, pairs=candidates)
    power = max(0.0, policy.pair_weight_power)
    weights = [1.0 / (1 + vote_counts[key]) ** power for key in candidates]
    chosen = (rng or random).choices(candidates, weights=weights, k=1)[0]
    return UpgradeStory.objects.select_related("from_card", "to_card", "context").get(
        pk=latest[chosen]
    )


def _candidate_pairs(
    *, voter: User, deliberation: Deliberation
) -> tuple[dict[tuple[int, int, int], int], list[tuple[int, int, int]]]:
    """Return each pair's latest story id, and the pairs ``voter`` may still be shown."""
    policy = graph_settings(deliberation)
    latest: dict[tuple[int, int, int], int] = {}
    for story_id, from_id, to_id, context_id in (
        UpgradeStory.objects.filter(deliberation=deliberation)
        .order_by("created", "pk")
        .values_list("pk", "from_card_id", "to_card_id", "context_id")
    ):
        latest[(from_id, to_id, context_id)] = story_id
    if not latest:
        return latest, []
    seen = set(
        Vote.objects.filter(voter=voter, deliberation=deliberation).values_list(
            "from_card_id", "to_card_id", "context_id"
        )
    ) | set(
        StoryImpression.objects.filter(voter=voter, story__deliberation=deliberation).values_list(
            "story__from_card_id", "story__to_card_id", "story__context_id"
        )
    )
    blocked = seen | {(to_id, from_id, context_id) for from_id, to_id, context_id in seen}
    own = own_value_ids(voter=voter, deliberation=deliberation)
    own_shown = sum(1 for from_id, to_id, _c in seen if from_id in own or to_id in own)
    allow_own = own_shown < policy.own_value_pairs
    candidates = [
        key
        for key in latest
        if key not in blocked and (allow_own or not (key[0] in own or key[1] in own))
    ]
    return latest, candidates


def pairs_left_for_voter(*, voter: User, deliberation: Deliberation) -> int:
    """Return how many more pairs ``voter`` could judge in ``deliberation`` (the one shown and
    waiting for their answer included)."""
    pending = story_pending_for_voter(voter=voter, deliberation=deliberation)
    _, candidates = _candidate_pairs(voter=voter, deliberation=deliberation)
    return len(candidates) + (1 if pending is not None else 0)


# Above this many candidate pairs (20; on the MGE study 182 spelled out took 90-160 ms, the
# superset 10-25 ms), the count query filters by the pairs' cards and contexts (a
# superset read through the (context, from_card, to_card) index) instead of spelling each pair.
PAIRS_SPELLED_OUT = 20


def pair_vote_counts(
    *, deliberation: Deliberation, pairs: list[tuple[int, int, int]]
) -> Counter[tuple[int, int, int]]:
    """Return the votes on each ``(from id, to id, context id)`` pair of ``pairs`` (one query
    reading only those pairs' votes, not every vote of the deliberation)."""
    if not pairs:
        return Counter()
    votes = Vote.objects.filter(deliberation=deliberation)
    if len(pairs) <= PAIRS_SPELLED_OUT:
        spelled = Q()
        for from_id, to_id, context_id in pairs:
            spelled |= Q(context_id=context_id, from_card_id=from_id, to_card_id=to_id)
        votes = votes.filter(spelled)
    else:
        votes = votes.filter(
            context_id__in={c for _f, _t, c in pairs},
            from_card_id__in={f for f, _t, _c in pairs},
            to_card_id__in={t for _f, t, _c in pairs},
        )
    wanted = set(pairs)
    counts: Counter[tuple[int, int, int]] = Counter()
    for from_id, to_id, context_id, n in (
        votes.values_list("from_card_id", "to_card_id", "context_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        if (from_id, to_id, context_id) in wanted:
            counts[(from_id, to_id, context_id)] = n
    return counts


def votes_by_voter(*, voter: User, deliberation: Deliberation) -> int:
    """Return how many pairs ``voter`` has judged in ``deliberation``."""
    return Vote.objects.filter(voter=voter, deliberation=deliberation).count()


def stories_count(*, deliberation: Deliberation) -> int:
    return UpgradeStory.objects.filter(deliberation=deliberation).count()


def pair_filter(*, from_id: int, to_id: int, context_id: int) -> Q:
    """Return a filter for both directions of a pair in a context."""
    return Q(context_id=context_id) & (
        Q(from_card_id=from_id, to_card_id=to_id) | Q(from_card_id=to_id, to_card_id=from_id)
    )


def vote_refusal(*, voter: User, deliberation: Deliberation) -> str | None:
    """Return why ``voter``'s vote in ``deliberation`` would not count, or None if it would.

    A vote counts only in an open deliberation, from a participant of a study that has a voting
    task for this deliberation. ``"preview"``: a researcher or admin trying the page.
    """
    from core.models import StudyTask
    from moralgraph.study_tasks import KIND, task_deliberation

    if voter.role != User.Role.PARTICIPANT or voter.is_staff or voter.is_superuser:
        return "preview"
    if not deliberation.is_open:
        return "closed"
    tasks = StudyTask.objects.filter(kind=KIND, study__participations__user=voter)
    if not any(_task_votes_in(task, deliberation, task_deliberation) for task in tasks):
        return "no_study"
    return None


def _task_votes_in(task, deliberation: Deliberation, task_deliberation) -> bool:
    name = (task.config or {}).get("deliberation")
    if name:
        return name == deliberation.name
    chosen = task_deliberation(task)
    return chosen is not None and chosen.pk == deliberation.pk


REFUSALS = {
    "closed": "This deliberation is closed: votes are no longer taken.",
    "no_study": "You can vote here only as a participant of a study with this voting task.",
}


def vote_page_notice(*, voter: User, deliberation: Deliberation) -> str:
    """Return why the voting page will not take ``voter``'s answers (a closed deliberation, no
    study with this voting task), said above the pair before they answer; "" when their votes
    count, and for a researcher's preview (the page shows its own preview banner)."""
    refusal = vote_refusal(voter=voter, deliberation=deliberation)
    return REFUSALS.get(refusal, "") if refusal else ""


def _get(model, pk: int, field: str):
    found = model.objects.filter(pk=pk).first()
    if found is None:
        raise ValidationError({field: f"No such {field.replace('_', ' ')}."})
    return found


def story_for_vote(
    *,
    voter: User,
    deliberation: Deliberation,
    story_id: int | None = None,
    from_card_id: int | None = None,
    to_card_id: int | None = None,
    context_id: int | None = None,
) -> UpgradeStory:
    """Return the story a vote is about: the one named, else the latest shown to ``voter`` on
    the pair and context named.

    Raise ``ValidationError`` naming the field for a story about another pair, a missing or
    unknown card or context, or one of another deliberation; ``PermissionDenied`` when the
    voter was never shown that pair.
    """
    pair = {"from_card": from_card_id, "to_card": to_card_id, "context": context_id}
    if story_id:
        story = _get(UpgradeStory, story_id, "story")
        for key, given in pair.items():
            if given is not None and given != getattr(story, f"{key}_id"):
                raise ValidationError({key: "The story is about another pair."})
        return story
    missing = [key for key, given in pair.items() if given is None]
    if missing:
        raise ValidationError({key: "Give the story, or the pair and context." for key in missing})
    for key, model in (
        ("from_card", ValuesCard),
        ("to_card", ValuesCard),
        ("context", MoralContext),
    ):
        if _get(model, pair[key], key).deliberation_id != deliberation.pk:
            raise ValidationError(
                {key: f"The {key.replace('_', ' ')} belongs to another deliberation."}
            )
    impression = (
        StoryImpression.objects.filter(
            voter=voter,
            story__from_card_id=pair["from_card"],
            story__to_card_id=pair["to_card"],
            story__context_id=pair["context"],
        )
        .select_related("story")
        .order_by("-pk")
        .first()
    )
    if impression is None:
        raise PermissionDenied("You can only vote on a pair you were shown.")
    return impression.story
