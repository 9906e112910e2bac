"""De-duplication against the servers researchers run, and with embeddings cached badly before."""

import numpy as np
import pytest

from elicitation.dedup import card_text_hash, dedup_run
from elicitation.models import CardEmbedding
from tests.elicitation.factories import DeliberationFactory, ValuesCardFactory
from tests.elicitation.test_dedup import CURIOSITY, HONESTY, HONESTY_AGAIN

pytestmark = pytest.mark.django_db


@pytest.fixture
def cards():
    deliberation = DeliberationFactory(name="servers")
    made = [
        ValuesCardFactory(deliberation=deliberation, **fields)
        for fields in (HONESTY, HONESTY_AGAIN, CURIOSITY)
    ]
    return deliberation, made


def test_near_duplicates_merge_on_every_server(cards, llm_server):
    deliberation, (first, second, other) = cards
    llm_server.reply_json({"same": True, "reason": "Both are about gentle truth-telling."})

    summary = dedup_run(deliberation=deliberation, threshold=0.8)

    second.refresh_from_db()
    other.refresh_from_db()
    assert second.canonical_id == first.pk and other.canonical_id is None
    assert summary["merged"] == 1
    assert set(CardEmbedding.objects.values_list("dimensions", flat=True)) == {64}


def test_a_per_token_matrix_cached_before_is_embedded_again(cards, llm_double):
    deliberation, (first, second, other) = cards
    matrix = np.ones((5, 64), dtype="<f4").tobytes()  # what the old gateway stored
    for card in (first, second, other):
        CardEmbedding.objects.create(
            card=card, model="text-embedding-3-small", text_hash=card_text_hash(card), vector=matrix
        )
    llm_double.reply_json({"same": True, "reason": "Same."})

    summary = dedup_run(deliberation=deliberation, threshold=0.8)

    assert summary["merged"] == 1
    assert len(llm_double.embedding_requests) == 1
    for embedding in CardEmbedding.objects.all():
        assert embedding.dimensions == 64 and len(bytes(embedding.vector)) == 4 * 64


def test_vectors_of_an_older_dimension_are_replaced_when_the_server_changes(cards, llm_double):
    deliberation, (first, second, other) = cards
    llm_double.reply_json({"same": True, "reason": "Same."})
    dedup_run(deliberation=deliberation, threshold=0.8)
    old = np.ones(32, dtype="<f4").tobytes()
    CardEmbedding.objects.filter(card=other).update(vector=old, dimensions=32)
    newcomer = ValuesCardFactory(deliberation=deliberation, **{**CURIOSITY, "title": "New fun"})

    dedup_run(deliberation=deliberation, threshold=0.8)

    dims = dict(CardEmbedding.objects.values_list("card_id", "dimensions"))
    assert dims[other.pk] == 64 and dims[newcomer.pk] == 64
