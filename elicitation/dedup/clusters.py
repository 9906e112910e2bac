"""Reads: a deliberation's clusters with member similarities, and its de-duplication decisions."""

from dataclasses import dataclass

import numpy as np
from django.db.models import Count, Prefetch, Q

from elicitation.dedup.embeddings import embedding_vector
from elicitation.models import DedupDecision, Deliberation, ValuesCard


@dataclass
class Cluster:
    """A canonical card and its duplicates, each with its similarity to the canonical."""

    canonical: ValuesCard
    members: list[tuple[ValuesCard, float | None]]

    @property
    def size(self) -> int:
        return 1 + len(self.members)


def clusters_for_deliberation(
    *, deliberation: Deliberation, min_size: int = 1, search: str = ""
) -> list[Cluster]:
    """Return the deliberation's clusters, biggest first, with member similarities."""
    duplicates = ValuesCard.objects.order_by("pk").select_related("embedding", "author", "chat")
    canonicals = (
        ValuesCard.objects.filter(deliberation=deliberation, canonical__isnull=True)
        .select_related("embedding", "author", "chat")
        .prefetch_related(Prefetch("duplicates", queryset=duplicates))
        .annotate(n_duplicates=Count("duplicates"))
        .filter(n_duplicates__gte=max(0, min_size - 1))
    )
    if search:
        canonicals = canonicals.filter(
            Q(title__icontains=search) | Q(duplicates__title__icontains=search)
        ).distinct()
    result = []
    for canonical in canonicals.order_by("-n_duplicates", "pk"):
        base = _embedded_unit(canonical)
        members = []
        for duplicate in canonical.duplicates.all():
            other = _embedded_unit(duplicate)
            similar = (
                float(base @ other)
                if base is not None and other is not None and len(base) == len(other)
                else None
            )
            members.append((duplicate, similar))
        members.sort(key=lambda pair: -(pair[1] if pair[1] is not None else -2))
        result.append(Cluster(canonical=canonical, members=members))
    return result


def _embedded_unit(card: ValuesCard) -> np.ndarray | None:
    embedding = getattr(card, "embedding", None)
    if embedding is None or not embedding.vector:
        return None
    vector = embedding_vector(embedding).astype(np.float64)
    norm = np.linalg.norm(vector)
    return vector / norm if norm else None


def dedup_decisions(*, deliberation: Deliberation, card: ValuesCard | None = None):
    """Return the deliberation's de-duplication decisions, newest first."""
    decisions = DedupDecision.objects.filter(deliberation=deliberation).select_related(
        "card", "other", "decided_by"
    )
    if card is not None:
        decisions = decisions.filter(Q(card=card) | Q(other=card))
    return decisions
