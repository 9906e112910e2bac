"""Reads of elicitation's data."""

from django.db.models import QuerySet

from elicitation.models import Deliberation, ValuesCard


def card_as_contract(card: ValuesCard) -> dict:
    """Return ``card`` in the contracts' values-card shape (author as a pseudonym, never a name)."""
    return {
        "id": card.pk,
        "title": card.title,
        "description": card.description,
        "policies": list(card.policies),
        "scenario": card.scenario_id,
        "context": card.context_id,
        "author": card.author.pseudonym if card.author_id else None,
        "canonical_id": card.canonical_id or card.pk,
    }


def cards_canonical(*, deliberation: Deliberation) -> QuerySet[ValuesCard]:
    """Return the deliberation's canonical cards (the moral graph's possible values)."""
    return ValuesCard.objects.filter(
        deliberation=deliberation, canonical__isnull=True
    ).select_related("author")


def deliberation_get(*, name: str) -> Deliberation | None:
    """Return the deliberation called ``name``, or None."""
    return Deliberation.objects.filter(name=name).first()
