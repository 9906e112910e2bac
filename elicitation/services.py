"""Writes of elicitation's data: keyword-only, validated before they are saved."""

from django.core.exceptions import ValidationError
from django.db import transaction

from core.models import User
from elicitation.models import Deliberation, MoralContext, Scenario, ValuesCard


def deliberation_create(*, name: str, title: str, welcome_text: str = "") -> Deliberation:
    """Create and return a deliberation."""
    deliberation = Deliberation(name=name, title=title, welcome_text=welcome_text)
    deliberation.full_clean()
    deliberation.save()
    return deliberation


def scenario_create(
    *, deliberation: Deliberation, question: str, seed_message: str = "", title: str = ""
) -> Scenario:
    """Create and return a scenario of ``deliberation``."""
    scenario = Scenario(
        deliberation=deliberation, question=question, seed_message=seed_message, title=title
    )
    scenario.full_clean()
    scenario.save()
    return scenario


def context_create(*, deliberation: Deliberation, text: str) -> MoralContext:
    """Create and return a moral context of ``deliberation``."""
    context = MoralContext(deliberation=deliberation, text=text)
    context.full_clean()
    context.save()
    return context


def card_create(
    *,
    deliberation: Deliberation,
    title: str,
    description: str,
    policies: list[str],
    author: User | None = None,
    scenario: Scenario | None = None,
    context: MoralContext | None = None,
    detailed_text: str = "",
) -> ValuesCard:
    """Create and return a canonical values card."""
    card = ValuesCard(
        deliberation=deliberation,
        title=title,
        description=description,
        policies=policies,
        author=author,
        scenario=scenario,
        context=context,
        detailed_text=detailed_text,
    )
    card.full_clean()
    card.save()
    return card


@transaction.atomic
def card_merge(*, card: ValuesCard, into: ValuesCard) -> ValuesCard:
    """Point ``card`` (and the cards merged into it) at canonical ``into``; keep their wording."""
    if card.pk == into.pk:
        raise ValidationError({"canonical": "A card cannot be merged into itself."})
    card.canonical = into
    card.full_clean()
    # Cards merged into ``card`` follow it, so no chain of canonicals ever forms.
    ValuesCard.objects.filter(canonical=card).update(canonical=into)
    card.save(update_fields=["canonical"])
    return card
