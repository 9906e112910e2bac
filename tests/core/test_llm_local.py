"""The embedded local backend: SmolLM2 for chat, MiniLM for embeddings (real models, slow)."""

import pytest
from pydantic import BaseModel, Field

from core import llm
from core.llm import local_files
from core.models import LLMCall

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db,
    pytest.mark.skipif(
        local_files.gguf_path() is None,
        reason=f"the {local_files.CHAT_PACKAGE} package ({local_files.CHAT_GGUF}) is not installed",
    ),
]

QUESTION = [{"role": "user", "content": "In one sentence, why does honesty matter to friends?"}]


class ValuesCard(BaseModel):
    title: str = Field(max_length=60)
    description: str = Field(max_length=300)
    policies: list[str] = Field(min_length=1, max_length=3)


@pytest.fixture
def local_backend(settings):
    """Select the local backend; the converted model is cached across runs in the usual place."""
    settings.OPENAI_BASE_URL = ""
    settings.OPENAI_API_KEY = ""
    settings.VALUELAB_LLM_TIMEOUT = 120


def test_the_local_backend_is_chosen_when_no_endpoint_is_set(local_backend):
    assert llm.backend_name() == "local"


def test_local_chat_returns_text_and_records_tokens(local_backend, alice):
    result = llm.chat(
        QUESTION, purpose="tests.local", user=alice, ask=llm.Generation(max_tokens=40)
    )

    assert result.text.strip()
    assert result.model == "SmolLM2-135M-Instruct"
    call = LLMCall.objects.get()
    assert (call.backend, call.outcome) == ("local", "ok")
    assert call.prompt_tokens > 10 and 0 < call.completion_tokens <= 40


def test_local_stream_yields_several_pieces(local_backend):
    pieces = list(
        llm.chat_stream(QUESTION, purpose="tests.local", ask=llm.Generation(max_tokens=30))
    )

    assert len(pieces) > 3
    assert "".join(pieces).strip()
    call = LLMCall.objects.get()
    assert (call.kind, call.outcome) == ("stream", "ok")
    assert call.completion_tokens > 3


def test_a_local_stream_stopped_early_frees_the_model(local_backend):
    stream = llm.chat_stream(QUESTION, purpose="tests.local", ask=llm.Generation(max_tokens=200))
    next(stream)
    stream.close()

    assert llm.chat(QUESTION, purpose="tests.local", ask=llm.Generation(max_tokens=5)).text
    assert LLMCall.objects.filter(outcome="ok").count() == 2


def test_local_structured_output_is_a_valid_values_card(local_backend):
    messages = [
        {"role": "system", "content": "Write a values card as JSON: title, description, policies."},
        {"role": "user", "content": "I want to be honest when a friend asks about their work."},
    ]

    card = llm.structured(messages, schema=ValuesCard, purpose="tests.local")

    assert isinstance(card, ValuesCard)
    assert card.title and 1 <= len(card.policies) <= 3
    assert LLMCall.objects.get().outcome == "ok"


def test_local_embeddings_put_similar_texts_closer(local_backend):
    vectors = llm.embed(
        [
            "Be honest with friends about their work.",
            "Tell your friends the truth about what they made.",
            "The train to Berlin leaves at nine.",
        ],
        purpose="tests.local",
    )

    assert [len(v) for v in vectors] == [384, 384, 384]
    assert abs(sum(x * x for x in vectors[0]) - 1) < 1e-3
    similar = sum(a * b for a, b in zip(vectors[0], vectors[1], strict=True))
    unrelated = sum(a * b for a, b in zip(vectors[0], vectors[2], strict=True))
    assert similar > unrelated
    assert LLMCall.objects.get().model == "all-MiniLM-L6-v2"
