"""The interviewer tuned for the embedded small model (SmolLM2-135M), run against the double.

The small model, asked freely, answers the question itself, gives advice or rewrites what the
participant said. Its prompt starts each reply with a question's opening words, stops reading at
the first question, and writes the card after four answers. The double stands in for the model.
"""

import pytest

from core.models import LLMCall
from elicitation import interview
from elicitation.models import Chat
from elicitation.services.interviews import chat_reply, chat_start, chat_turn, message_post
from elicitation.services.turn import CARD_INTRO_TEXT
from tests.elicitation.factories import ScenarioFactory
from tests.elicitation.interview_script import CARD

pytestmark = pytest.mark.django_db

SMALL = interview.INTERVIEWER_SMALL_V1


@pytest.fixture
def scenario():
    return ScenarioFactory(question="My friend keeps cancelling plans. What should I do?")


@pytest.fixture
def small_chat(alice, scenario, llm_double, monkeypatch):
    # The double is an endpoint; make this chat start as it would on the embedded model.
    monkeypatch.setitem(interview.CURRENT_PROMPTS, "openai", SMALL)
    return chat_start(participant=alice, scenario=scenario)


def test_the_embedded_model_gets_the_small_interviewer(alice, scenario, settings):
    settings.OPENAI_BASE_URL = settings.OPENAI_API_KEY = ""
    chat = chat_start(participant=alice, scenario=scenario)
    assert (chat.prompt_name, chat.prompt_version) == (SMALL.name, SMALL.version)


def test_the_small_model_reply_is_its_question_not_a_rewrite_of_the_answer(small_chat, llm_double):
    # What SmolLM2 does left to itself: a question, then advice and the answer rewritten.
    llm_double.reply(
        "' your friend cancelled and you felt hurt? It is important to be honest. "
        "You said a good answer helps you say honestly how you feel, which means"
    )
    message_post(chat=small_chat, text="A good answer helps me say honestly how I feel.")

    events = list(chat_turn(chat=small_chat))

    question = "Can you tell me about a time when your friend cancelled and you felt hurt?"
    assert "".join(e.text for e in events if e.kind == "delta") == question
    [reply] = [e.message for e in events if e.kind == "reply"]
    assert reply.text == question
    sent = llm_double.chat_requests[-1]["messages"]
    assert sent[-1] == {"role": "assistant", "content": SMALL.openers[0]}
    assert sent[-2]["content"] == "A good answer helps me say honestly how I feel."
    assert LLMCall.objects.get(purpose="elicitation.interview").outcome == "ok"


def test_each_answer_gets_the_next_opener(small_chat, llm_double):
    llm_double.reply("you felt that?").reply("it went well?")
    for text in ("First answer.", "Second answer."):
        message_post(chat=small_chat, text=text)
        chat_reply(chat=small_chat)

    replies = list(small_chat.messages.filter(role="assistant").order_by("pk")[1:])
    assert [r.text for r in replies] == [
        f"{SMALL.openers[0]} you felt that?",
        f"{SMALL.openers[1]} it went well?",
    ]


def test_after_four_answers_the_small_interviewer_writes_the_card(small_chat, llm_double):
    for n in range(SMALL.max_answers - 1):
        llm_double.reply("that happened?")
        message_post(chat=small_chat, text=f"Answer {n}.")
        chat_reply(chat=small_chat)
    llm_double.reply_json(CARD)
    message_post(chat=small_chat, text="The last answer.")

    reply, card, failure = chat_reply(chat=small_chat)

    assert failure is None and reply.text == CARD_INTRO_TEXT
    assert card is not None and card.title == CARD["title"]
    small_chat.refresh_from_db()
    assert small_chat.state == Chat.State.CARD_PROPOSED
    purposes = list(LLMCall.objects.order_by("pk").values_list("purpose", flat=True))
    assert purposes == ["elicitation.interview"] * 3 + ["elicitation.card"]


def test_a_reply_stopped_by_the_token_limit_is_never_stored_mid_word(alice, scenario, llm_double):
    llm_double.reply(
        "Tell me more about the moment you realis", completion_tokens=interview.INTERVIEW_MAX_TOKENS
    )
    chat = chat_start(participant=alice, scenario=scenario)
    message_post(chat=chat, text="Honesty matters to me.")

    reply, _, failure = chat_reply(chat=chat)

    assert failure is None and reply.text == "Tell me more about the moment you…"
