"""Writes of the moral graph: stories shown, votes, fairness answers, each deliberation's rule."""

from __future__ import annotations

import random

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from core.jobs import job_key, job_start
from core.models import Job, User
from elicitation.models import Deliberation, MoralContext, ValuesCard
from moralgraph.models import FairnessAnswer, GraphSettings, StoryImpression, UpgradeStory, Vote
from moralgraph.selectors import REFUSALS, own_value_ids, story_next_for_voter, vote_refusal
from moralgraph.snapshots import RECOMPUTE_JOB, snapshots_mark_changed


@transaction.atomic
def vote_record(
    *,
    voter: User,
    deliberation: Deliberation,
    from_card: ValuesCard,
    to_card: ValuesCard,
    context: MoralContext,
    choice: str,
    comment: str = "",
    story: UpgradeStory | None = None,
    page_version: str = "",
    yes_first: bool | None = None,
) -> tuple[Vote, bool]:
    """Record ``voter``'s answer on a pair in a context; return the vote and whether it is new.

    This is the store under ``vote_submit`` (a participant's vote on a story they were shown,
    with its permission checks); it checks only that the answer is well formed.

    ``page_version`` and ``yes_first`` say which page (and order of Yes and No) the answer was
    given on; the latest answer's are kept with it.

    Voting again on the same pair and context changes the answer, never adds a second vote.
    Raise ``ValidationError`` (nothing stored) for an unknown choice or cards, context or story
    outside ``deliberation``.
    """
    vote = Vote(
        deliberation=deliberation,
        voter=voter,
        from_card=from_card,
        to_card=to_card,
        context=context,
        choice=choice,
        comment=comment,
        story=story,
        page_version=page_version,
        yes_first=yes_first,
    )
    # The unique constraint is enforced by update_or_create below, not by a racy pre-check.
    vote.full_clean(validate_unique=False, validate_constraints=False)
    return Vote.objects.update_or_create(
        voter=voter,
        from_card=from_card,
        to_card=to_card,
        context=context,
        defaults={
            "deliberation": deliberation,
            "choice": choice,
            "comment": comment,
            "story": story,
            "page_version": page_version,
            "yes_first": yes_first,
        },
    )


@transaction.atomic
def graph_rule_set(*, deliberation: Deliberation, rule: str) -> GraphSettings:
    """Set the rule that turns ``deliberation``'s votes into edges; return its settings."""
    settings_row, _created = GraphSettings.objects.get_or_create(deliberation=deliberation)
    changed = settings_row.rule != rule
    settings_row.rule = rule
    settings_row.full_clean()
    settings_row.save(update_fields=["rule"])
    if changed:
        context_ids = list(deliberation.contexts.values_list("pk", flat=True))
        snapshots_mark_changed(deliberation=deliberation, context_ids=context_ids)
    return settings_row


def impression_record(*, voter: User, story: UpgradeStory) -> StoryImpression:
    """Record that ``story`` was shown to ``voter`` (once, however often it is shown)."""
    impression, _created = StoryImpression.objects.get_or_create(voter=voter, story=story)
    return impression


@transaction.atomic
def story_show_next(
    *, voter: User, deliberation: Deliberation, rng: random.Random | None = None
) -> UpgradeStory | None:
    """Return the story ``voter`` judges next and record it as shown, or None when none is left.

    A story shown and not yet voted on is returned again, and requests of one voter are taken
    one at a time (the voter's row is locked), so two tabs or a double reload never leave the
    voter with two pairs to judge.
    """
    User.objects.select_for_update().filter(pk=voter.pk).values_list("pk").first()
    story = story_next_for_voter(voter=voter, deliberation=deliberation, rng=rng)
    if story is not None and vote_refusal(voter=voter, deliberation=deliberation) != "preview":
        impression_record(voter=voter, story=story)  # a researcher's preview stores nothing
    return story


@transaction.atomic
def vote_submit(
    *,
    voter: User,
    deliberation: Deliberation,
    story: UpgradeStory,
    choice: str,
    comment: str = "",
    page_version: str = "",
    yes_first: bool | None = None,
) -> tuple[Vote, bool]:
    """Record ``voter``'s answer on the pair ``story`` is about; return the vote and whether new.

    Raise ``ValidationError`` for a story of another deliberation or an unknown choice, and
    ``PermissionDenied`` when the story was never shown to the voter, the deliberation is
    closed, or the voter is in no study with this voting task; nothing is stored then. A
    researcher's vote is a preview: checked, returned unsaved (``pk`` None), never stored.
    The context's scores are marked stale and recomputed after the commit.
    """
    if story.deliberation_id != deliberation.pk:
        raise ValidationError({"story": "The story belongs to another deliberation."})
    # What the vote is about and says: the story's pair in its context, the answer, the comment.
    answer = {
        "deliberation": deliberation,
        "voter": voter,
        "from_card": story.from_card,
        "to_card": story.to_card,
        "context": story.context,
        "choice": choice,
        "comment": comment.strip(),
        "story": story,
    }
    refusal = vote_refusal(voter=voter, deliberation=deliberation)
    if refusal == "preview":
        preview = Vote(**answer)
        preview.full_clean(validate_unique=False, validate_constraints=False)
        return preview, False
    if refusal is not None:
        raise PermissionDenied(REFUSALS[refusal])
    if not StoryImpression.objects.filter(voter=voter, story=story).exists():
        raise PermissionDenied("You can only vote on a pair you were shown.")
    vote, created = vote_record(**answer, page_version=page_version, yes_first=yes_first)
    snapshots_mark_changed(deliberation=deliberation, context_ids=[story.context_id])
    return vote, created


@transaction.atomic
def fairness_answer_set(
    *,
    voter: User,
    card: ValuesCard,
    context: MoralContext,
    answer: str,
    comment: str = "",
) -> tuple[FairnessAnswer, bool]:
    """Store ``voter``'s "is this a fair position?" answer for their value in a context.

    Answering again changes the answer. Raise ``PermissionDenied`` unless ``card`` is the
    voter's own value, ``ValidationError`` for an unknown answer or a context elsewhere.
    """
    if card.pk not in own_value_ids(voter=voter, deliberation=card.deliberation):
        raise PermissionDenied("You can only judge the position of your own value.")
    if context.deliberation_id != card.deliberation_id:
        raise ValidationError({"context": "The context belongs to another deliberation."})
    row = FairnessAnswer(voter=voter, card=card, context=context, answer=answer, comment=comment)
    row.full_clean(validate_unique=False, validate_constraints=False)
    return FairnessAnswer.objects.update_or_create(
        voter=voter,
        card=card,
        context=context,
        defaults={"answer": answer, "comment": comment.strip()},
    )


def stories_generation_start(
    *,
    deliberation: Deliberation,
    created_by: User | None,
    token: str | None = None,
    context_ids: list[int] | None = None,
    pairs_per_card: int | None = None,
) -> Job:
    """Start the job that writes upgrade stories for the deliberation; return it.

    The same user sending the same one-time ``token`` again gets the first job.
    """
    from moralgraph.jobs import GENERATE_STORIES_JOB

    params: dict = {"deliberation": deliberation.pk}
    if context_ids:
        params["contexts"] = sorted(context_ids)
    if pairs_per_card is not None:
        if pairs_per_card < 1:
            raise ValidationError({"pairs_per_card": "Must be at least 1."})
        params["pairs_per_card"] = pairs_per_card
    key = job_key("moralgraph-stories", deliberation.pk, getattr(created_by, "pk", ""), token=token)
    return job_start(
        kind=GENERATE_STORIES_JOB, params=params, created_by=created_by, idempotency_key=key
    )


def scores_recompute_start(
    *, deliberation: Deliberation, created_by: User | None, token: str | None = None
) -> Job:
    """Start a full recompute of the deliberation's scores; return the job.

    The same user sending the same one-time ``token`` again gets the first job.
    """
    return job_start(
        kind=RECOMPUTE_JOB,
        params={"deliberation": deliberation.pk, "force": True},
        created_by=created_by,
        idempotency_key=job_key(
            "moralgraph-recompute", deliberation.pk, getattr(created_by, "pk", ""), token=token
        ),
    )


@transaction.atomic
def voting_policy_set(
    *,
    deliberation: Deliberation,
    pairs_per_card: int,
    pair_weight_power: float,
    own_value_pairs: int,
    votes_per_session: int,
) -> GraphSettings:
    """Set how stories are paired and how pairs are drawn for voters; return the settings."""
    settings_row, _created = GraphSettings.objects.get_or_create(deliberation=deliberation)
    settings_row.pairs_per_card = pairs_per_card
    settings_row.pair_weight_power = pair_weight_power
    settings_row.own_value_pairs = own_value_pairs
    settings_row.votes_per_session = votes_per_session
    settings_row.full_clean()
    settings_row.save(
        update_fields=[
            "pairs_per_card",
            "pair_weight_power",
            "own_value_pairs",
            "votes_per_session",
        ]
    )
    return settings_row
