"""Card embeddings: each card's wording embedded once per wording and model, stored as bytes."""

import hashlib

import numpy as np

from core import llm
from core.jobs import JobProgress
from core.llm.gateway import get_backend
from elicitation.models import CardEmbedding, ValuesCard

PURPOSE_EMBED = "elicitation.dedup.embed"


EMBED_BATCH = 64


def card_text(card: ValuesCard) -> str:
    """Return the wording of ``card`` that is embedded and compared."""
    return "\n".join([card.title, card.description, *card.policies])


def card_text_hash(card: ValuesCard) -> str:
    """Return a hash of the card's wording (what decides whether it must be looked at again)."""
    return hashlib.sha256(card_text(card).encode()).hexdigest()


def _embedding_model() -> str:
    return get_backend().embedding_model()


def _vector_bytes(vector: list[float]) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def embedding_vector(embedding: CardEmbedding) -> np.ndarray:
    return np.frombuffer(bytes(embedding.vector), dtype="<f4")


def _embedding_is_usable(embedding: CardEmbedding, *, card: ValuesCard, model: str) -> bool:
    """Return whether a stored embedding is a flat vector of the card's wording by ``model``."""
    return (
        embedding.text_hash == card_text_hash(card)
        and embedding.model == model
        and embedding.dimensions > 0
        and len(bytes(embedding.vector)) == 4 * embedding.dimensions
    )


def cards_embed(*, cards: list[ValuesCard], progress: JobProgress | None = None) -> int:
    """Embed the cards whose wording, embedding model or dimension changed; return how many.

    The gateway hands back only flat vectors of one dimension (per-token rows mean-pooled), so
    nothing malformed is stored. A stored vector whose dimension differs from what the model
    returns now (the server was changed) is embedded again, so every card compared has one
    dimension.
    """
    model = _embedding_model()
    known = {e.card_id: e for e in CardEmbedding.objects.filter(card__in=cards)}
    stale = [
        card
        for card in cards
        if card.pk not in known or not _embedding_is_usable(known[card.pk], card=card, model=model)
    ]
    embedded = _embed_and_store(stale, model=model, progress=progress)
    stale_ids = {card.pk for card in stale}
    kept = [card for card in cards if card.pk not in stale_ids]
    dimensions = {known[card.pk].dimensions for card in kept} | ({embedded} if embedded else set())
    if len(dimensions) <= 1:
        return len(stale)
    # The server's vectors changed length under the same model name: what was kept is stale.
    again = [card for card in kept if not embedded or known[card.pk].dimensions != embedded]
    _embed_and_store(again, model=model, progress=progress)
    return len(stale) + len(again)


def _embed_and_store(cards: list[ValuesCard], *, model: str, progress: JobProgress | None) -> int:
    """Embed and store ``cards``; return the vectors' dimension (0 when there were none)."""
    dimension = 0
    for start in range(0, len(cards), EMBED_BATCH):
        batch = cards[start : start + EMBED_BATCH]
        vectors = llm.embed([card_text(card) for card in batch], purpose=PURPOSE_EMBED)
        for card, vector in zip(batch, vectors, strict=True):
            dimension = len(vector)
            CardEmbedding.objects.update_or_create(
                card=card,
                defaults={
                    "model": model,
                    "text_hash": card_text_hash(card),
                    "vector": _vector_bytes(vector),
                    "dimensions": len(vector),
                },
            )
        if progress is not None:
            progress.update(message=f"Embedded {start + len(batch)} of {len(cards)} cards")
    return dimension
