"""Researchers merge and split clusters by hand, each decision with a reason."""

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction

from core.models import User
from elicitation.clustering import normalised
from elicitation.dedup.embeddings import card_text_hash, embedding_vector
from elicitation.models import CardEmbedding, DedupDecision, ValuesCard
from elicitation.services.cards import card_merge


def _reason_required(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why, so the decision can be understood later."})
    return reason


def _similarity(card: ValuesCard, other: ValuesCard) -> float | None:
    rows = {e.card_id: e for e in CardEmbedding.objects.filter(card__in=[card, other])}
    if card.pk not in rows or other.pk not in rows:
        return None
    first, second = embedding_vector(rows[card.pk]), embedding_vector(rows[other.pk])
    if not len(first) or len(first) != len(second):
        return None
    unit = normalised(np.stack([first, second]))
    return float(unit[0] @ unit[1])


def _decision_record(
    *, card: ValuesCard, other: ValuesCard, action: str, by: User, reason: str
) -> None:
    """Record a researcher's decision about ``card`` and ``other``, and that de-duplication need
    not look at the card's wording again (a person decided)."""
    DedupDecision.objects.create(
        deliberation=card.deliberation,
        card=card,
        other=other,
        action=action,
        source=DedupDecision.Source.RESEARCHER,
        decided_by=by,
        reason=reason,
        similarity=_similarity(card, other),
    )
    CardEmbedding.objects.update_or_create(
        card=card, defaults={"checked_hash": card_text_hash(card)}
    )


@transaction.atomic
def card_merge_by_researcher(
    *, card: ValuesCard, into: ValuesCard, researcher: User, reason: str
) -> ValuesCard:
    """Merge ``card`` (with its duplicates) into the cluster of ``into``, recording why.

    Merging a card into the cluster it is already in changes nothing and records nothing.
    """
    reason = _reason_required(reason)
    locked = ValuesCard.objects.select_for_update().filter(pk__in=[card.pk, into.pk])
    cards = {c.pk: c for c in locked.order_by("pk")}
    card, into = cards[card.pk], cards.get(into.pk, card)
    target = into.canonical if into.canonical_id else into
    if card.pk == target.pk or card.canonical_id == target.pk:
        return card
    card_merge(card=card, into=target)
    _decision_record(
        card=card, other=target, action=DedupDecision.Action.MERGE, by=researcher, reason=reason
    )
    return card


@transaction.atomic
def card_split(*, card: ValuesCard, researcher: User, reason: str) -> ValuesCard:
    """Make duplicate ``card`` a canonical card of its own again, recording why.

    Splitting a card that is already canonical changes nothing and records nothing.
    """
    reason = _reason_required(reason)
    card = ValuesCard.objects.select_for_update().get(pk=card.pk)
    if card.canonical_id is None:
        return card
    former = card.canonical
    card.canonical = None
    card.full_clean()
    card.save(update_fields=["canonical"])
    _decision_record(
        card=card, other=former, action=DedupDecision.Action.SPLIT, by=researcher, reason=reason
    )
    return card
