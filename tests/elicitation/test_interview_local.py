"""One interview turn, and a card, through the embedded local model (SmolLM2; slow)."""

import pytest

from core.llm import local_files
from core.models import LLMCall
from elicitation import interview
from elicitation.models import Chat
from elicitation.services.card_drafts import chat_card_write
from elicitation.services.interviews import chat_reply, chat_start, message_post
from elicitation.services.turn import CARD_FAILED_TEXT
from tests.elicitation.factories import ScenarioFactory

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db,
    pytest.mark.skipif(
        local_files.gguf_path() is None,
        reason=f"the {local_files.CHAT_PACKAGE} package ({local_files.CHAT_GGUF}) is not installed",
    ),
]


@pytest.fixture
def local_backend(settings, monkeypatch):
    # Two shared CPU cores: a short question and one card attempt keep this to a few minutes.
    monkeypatch.setattr(interview, "INTERVIEW_MAX_TOKENS", 60)
    settings.VALUELAB_LLM_STRUCTURED_ATTEMPTS = 1
    settings.OPENAI_BASE_URL = ""
    settings.OPENAI_API_KEY = ""
    settings.VALUELAB_LLM_TIMEOUT = 300


def test_an_interview_turn_through_the_local_model(local_backend, alice):
    scenario = ScenarioFactory(question="My friend keeps cancelling plans. What should I do?")
    chat = chat_start(participant=alice, scenario=scenario)
    message_post(chat=chat, text="A good answer helps me say honestly how I feel to my friend.")

    reply, _, failure = chat_reply(chat=chat)

    assert failure is None
    assert reply.text.strip() and "[[submit" not in reply.text
    assert reply.reply_to.text.startswith("A good answer helps me")
    call = LLMCall.objects.get(purpose="elicitation.interview")
    assert (call.backend, call.outcome, call.kind) == ("local", "ok", "stream")


def test_a_card_through_the_local_model_is_valid_or_the_chat_offers_a_retry(local_backend, alice):
    # SmolLM2-135M writes schema-shaped JSON but may miss the wording rules; either way the
    # participant gets a valid card or the "try again" state, and keeps every message.
    scenario = ScenarioFactory(question="My friend keeps cancelling plans. What should I do?")
    chat = chat_start(participant=alice, scenario=scenario)
    message_post(chat=chat, text="I look for moments when my friend is honest about being tired.")

    [event] = list(chat_card_write(chat=chat))

    chat.refresh_from_db()
    if event.kind == "card":
        card = event.card
        # Schema-valid; an off-style card is proposed anyway, its style problems shown as hints.
        assert card.title.strip() and card.description.strip() and card.policies
        assert chat.state == Chat.State.CARD_PROPOSED
    else:
        assert event.text == CARD_FAILED_TEXT and chat.state == Chat.State.FAILED
    assert [m.role for m in chat.messages.order_by("pk")] == ["assistant", "user"]
    calls = LLMCall.objects.filter(purpose="elicitation.card")
    assert calls.exists() and set(calls.values_list("backend", flat=True)) == {"local"}
