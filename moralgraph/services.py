"""Writes of the moral graph: votes and each deliberation's rule."""

from __future__ import annotations

from django.db import transaction

from core.models import User
from elicitation.models import Deliberation, MoralContext, ValuesCard
from moralgraph.models import GraphSettings, UpgradeStory, Vote


@transaction.atomic
def vote_cast(
    *,
    voter: User,
    deliberation: Deliberation,
    from_card: ValuesCard,
    to_card: ValuesCard,
    context: MoralContext,
    choice: str,
    comment: str = "",
    story: UpgradeStory | None = None,
) -> tuple[Vote, bool]:
    """Record ``voter``'s answer on a pair in a context; return the vote and whether it is new.

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
        },
    )


@transaction.atomic
def graph_rule_set(*, deliberation: Deliberation, rule: str) -> GraphSettings:
    """Set the rule that turns ``deliberation``'s votes into edges; return its settings."""
    settings_row, _created = GraphSettings.objects.get_or_create(deliberation=deliberation)
    settings_row.rule = rule
    settings_row.full_clean()
    settings_row.save(update_fields=["rule"])
    return settings_row
