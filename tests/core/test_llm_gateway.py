"""The LLM gateway against the scripted OpenAI double, through the real openai client."""

import socket
import time

import pytest
from pydantic import BaseModel, Field

from core import llm
from core.models import LLMCall

pytestmark = pytest.mark.django_db

HELLO = [{"role": "user", "content": "Say hello."}]


class ValuesCard(BaseModel):
    title: str = Field(max_length=60)
    description: str = Field(max_length=300)
    policies: list[str] = Field(min_length=1, max_length=3)


CARD = {
    "title": "Honest encouragement",
    "description": "Tell friends the truth about their work, kindly.",
    "policies": ["Name one real strength", "Suggest one concrete change"],
}


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_the_openai_backend_is_chosen_when_an_endpoint_is_set(llm_double, settings):
    assert llm.backend_name() == "openai"
    settings.OPENAI_BASE_URL = ""
    settings.OPENAI_API_KEY = ""
    assert llm.backend_name() == "local"


def test_chat_returns_the_reply_and_records_the_call(llm_double, alice):
    llm_double.reply("Hello, Alice!", prompt_tokens=7, completion_tokens=3)

    result = llm.chat(HELLO, purpose="tests.chat", user=alice, ask=llm.Generation(temperature=0.2))

    assert result.text == "Hello, Alice!"
    assert result.model == "gpt-4o-mini"
    sent = llm_double.chat_requests[0]
    assert sent["messages"] == HELLO
    assert sent["temperature"] == 0.2
    assert sent.headers["authorization"] == "Bearer test-key"
    call = LLMCall.objects.get()
    assert (call.purpose, call.kind, call.backend) == ("tests.chat", "chat", "openai")
    assert call.user == alice
    assert (call.prompt_tokens, call.completion_tokens, call.outcome) == (7, 3, "ok")
    assert call.attempts == 1


def test_the_model_setting_and_argument_choose_the_model(llm_double, settings):
    settings.VALUELAB_LLM_MODEL = "llama3.2"
    llm.chat(HELLO, purpose="tests.chat")
    llm.chat(HELLO, purpose="tests.chat", ask=llm.Generation(model="qwen2.5"))

    assert [r["model"] for r in llm_double.chat_requests] == ["llama3.2", "qwen2.5"]


def test_an_unscripted_double_answers_a_default_reply(llm_double):
    assert llm.chat(HELLO, purpose="tests.chat").text == "OK (scripted default)"


def test_streaming_yields_the_text_in_pieces_and_records_one_call(llm_double, alice):
    llm_double.reply("Kindness means noticing what others need.")

    pieces = list(llm.chat_stream(HELLO, purpose="tests.stream", user=alice))

    assert len(pieces) > 1
    assert "".join(pieces) == "Kindness means noticing what others need."
    assert llm_double.chat_requests[0]["stream"] is True
    call = LLMCall.objects.get()
    assert (call.kind, call.outcome) == ("stream", "ok")
    assert call.prompt_tokens > 0 and call.completion_tokens > 0


def test_a_stream_stopped_early_is_still_recorded(llm_double, alice):
    llm_double.reply("one two three four five six")

    stream = llm.chat_stream(HELLO, purpose="tests.stream", user=alice)
    first = next(stream)
    stream.close()

    assert first == "one "
    call = LLMCall.objects.get()
    assert call.outcome == "ok"
    assert "stopped reading" in call.error


def test_structured_returns_the_validated_object(llm_double, rita):
    llm_double.reply_json(CARD)

    card = llm.structured(HELLO, schema=ValuesCard, purpose="tests.card", user=rita)

    assert card == ValuesCard(**CARD)
    response_format = llm_double.chat_requests[0]["response_format"]
    assert response_format["type"] == "json_schema"
    sent = response_format["json_schema"]["schema"]
    # Short limits are sent; the 300-character one is left to validation (grammar servers).
    assert sent["properties"]["title"]["maxLength"] == 60
    assert "maxLength" not in sent["properties"]["description"]
    assert sent["required"] == ValuesCard.model_json_schema()["required"]
    assert LLMCall.objects.get().kind == "structured"


def test_structured_accepts_json_wrapped_in_a_code_fence(llm_double):
    card_json = '{"title": "T", "description": "D", "policies": ["P"]}'
    llm_double.reply(f"```json\n{card_json}\n```")

    card = llm.structured(HELLO, schema=ValuesCard, purpose="tests.card")

    assert card.title == "T"


def test_structured_accepts_a_tool_call_answer(llm_double):
    llm_double.reply_tool_call("ValuesCard", CARD)

    card = llm.structured(HELLO, schema=ValuesCard, purpose="tests.card")

    assert card.policies == CARD["policies"]


def test_invalid_json_is_sent_back_and_the_second_answer_wins(llm_double):
    llm_double.malformed()
    llm_double.reply_json(CARD)

    card = llm.structured(HELLO, schema=ValuesCard, purpose="tests.card")

    assert card.title == CARD["title"]
    retry = llm_double.chat_requests[1]["messages"]
    assert retry[-2]["role"] == "assistant"
    assert "does not match the required JSON schema" in retry[-1]["content"]
    call = LLMCall.objects.get()
    assert (call.outcome, call.attempts) == ("ok", 2)


def test_always_invalid_output_fails_after_exactly_the_allowed_attempts(llm_double, settings):
    settings.VALUELAB_LLM_STRUCTURED_ATTEMPTS = 3
    too_long = {**CARD, "title": "x" * 200}
    for _ in range(5):
        llm_double.reply_json(too_long)

    with pytest.raises(llm.LLMInvalidOutput, match="no valid ValuesCard in 3 attempts"):
        llm.structured(HELLO, schema=ValuesCard, purpose="tests.card")

    assert len(llm_double.chat_requests) == 3
    call = LLMCall.objects.get()
    assert (call.outcome, call.attempts) == ("invalid", 3)
    assert "title" in call.error


def test_the_attempts_argument_overrides_the_setting(llm_double):
    llm_double.malformed()

    with pytest.raises(llm.LLMInvalidOutput):
        llm.structured(HELLO, schema=ValuesCard, purpose="tests.card", attempts=1)

    assert len(llm_double.chat_requests) == 1


def test_a_server_error_is_retried_and_the_retry_succeeds(llm_double):
    llm_double.fail(status=500)
    llm_double.reply("Back again.")

    assert llm.chat(HELLO, purpose="tests.chat").text == "Back again."

    call = LLMCall.objects.get()
    assert (call.outcome, call.attempts) == ("ok", 2)


def test_a_rate_limit_waits_as_long_as_retry_after_says(llm_double):
    llm_double.fail(status=429, retry_after=0.3)
    llm_double.reply("Thanks for waiting.")

    started = time.monotonic()
    assert llm.chat(HELLO, purpose="tests.chat").text == "Thanks for waiting."

    assert 0.3 <= time.monotonic() - started < 3


def test_a_server_that_keeps_failing_raises_unavailable_and_is_recorded(llm_double, settings):
    settings.VALUELAB_LLM_MAX_RETRIES = 2
    llm_double.fail(status=500, times=10)

    with pytest.raises(llm.LLMUnavailable, match="HTTP 500") as raised:
        llm.chat(HELLO, purpose="tests.chat")

    assert not isinstance(raised.value, llm.LLMTimeout)
    assert "127.0.0.1" in raised.value.message
    assert "test-key" not in raised.value.message
    assert len(llm_double.chat_requests) == 3
    call = LLMCall.objects.get()
    assert (call.outcome, call.attempts) == ("error", 3)


def test_a_rejected_api_key_is_an_error_that_never_shows_the_key(settings):
    from tests.llm_double import OpenAIDouble

    with OpenAIDouble(api_key="the-right-key") as double:
        settings.OPENAI_BASE_URL = double.url
        settings.OPENAI_API_KEY = "sk-secret-wrong-key"

        with pytest.raises(llm.LLMError, match="refused the API key") as raised:
            llm.chat(HELLO, purpose="tests.chat")

    assert "sk-secret-wrong-key" not in str(raised.value)
    assert len(double.chat_requests) == 1  # a 401 is not worth retrying


def test_a_slow_endpoint_times_out_quickly_and_is_recorded(llm_double, settings):
    settings.VALUELAB_LLM_TIMEOUT = 0.5
    settings.VALUELAB_LLM_MAX_RETRIES = 0
    llm_double.latency = 5

    started = time.monotonic()
    with pytest.raises(llm.LLMTimeout, match="did not answer within 0.5 s"):
        llm.chat(HELLO, purpose="tests.chat")

    assert time.monotonic() - started < 3
    assert LLMCall.objects.get().outcome == "timeout"


def test_nothing_listening_raises_unavailable(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.OPENAI_BASE_URL = f"http://127.0.0.1:{closed_port}/v1"
    settings.OPENAI_API_KEY = "test-key"
    settings.VALUELAB_LLM_MAX_RETRIES = 1

    with pytest.raises(llm.LLMUnavailable, match=f"127.0.0.1:{closed_port} could not be reached"):
        llm.chat(HELLO, purpose="tests.chat")

    assert LLMCall.objects.get().outcome == "error"


def test_a_broken_response_body_raises_unavailable(llm_double):
    llm_double.malformed(body=True)

    with pytest.raises(llm.LLMUnavailable):
        llm.chat(HELLO, purpose="tests.chat")

    assert LLMCall.objects.get().outcome == "error"


def test_a_stream_that_cannot_start_raises_before_the_first_piece(llm_double, settings):
    settings.VALUELAB_LLM_MAX_RETRIES = 0
    llm_double.fail(status=503)

    with pytest.raises(llm.LLMUnavailable):
        llm.chat_stream(HELLO, purpose="tests.stream")

    call = LLMCall.objects.get()
    assert (call.kind, call.outcome) == ("stream", "error")


def test_a_participant_over_budget_is_stopped_before_anything_is_sent(llm_double, settings, alice):
    settings.VALUELAB_LLM_BUDGET = 2
    llm.chat(HELLO, purpose="tests.chat", user=alice)
    llm.chat(HELLO, purpose="tests.chat", user=alice)
    assert llm.budget_remaining(alice) == 0

    with pytest.raises(
        llm.LLMBudgetExceeded,
        match="You have reached today's limit of 2 AI replies. Please come back tomorrow.",
    ):
        llm.chat(HELLO, purpose="tests.chat", user=alice)

    assert len(llm_double.chat_requests) == 2
    outcomes = list(LLMCall.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == ["ok", "ok", "over_budget"]
    assert llm.budget_remaining(alice) == 0  # refusals do not use up tomorrow's calls


def test_the_budget_applies_to_streams_and_embeddings_too(llm_double, settings, alice):
    settings.VALUELAB_LLM_BUDGET = 1
    llm.embed(["a"], purpose="tests.embed", user=alice)

    with pytest.raises(llm.LLMBudgetExceeded):
        llm.chat_stream(HELLO, purpose="tests.stream", user=alice)
    with pytest.raises(llm.LLMBudgetExceeded):
        llm.structured(HELLO, schema=ValuesCard, purpose="tests.card", user=alice)


def test_one_participants_calls_do_not_use_up_anothers_budget(llm_double, settings, alice, bob):
    settings.VALUELAB_LLM_BUDGET = 1
    llm.chat(HELLO, purpose="tests.chat", user=alice)

    assert llm.budget_remaining(bob) == 1
    assert llm.chat(HELLO, purpose="tests.chat", user=bob).text


def test_researchers_and_anonymous_calls_are_not_limited(llm_double, settings, rita):
    settings.VALUELAB_LLM_BUDGET = 1
    for _ in range(3):
        llm.chat(HELLO, purpose="tests.chat", user=rita)
        llm.chat(HELLO, purpose="tests.chat")

    assert llm.budget_remaining(rita) is None
    assert llm.budget_remaining(None) is None
    assert LLMCall.objects.filter(outcome="ok").count() == 6


def test_embeddings_put_similar_texts_closer_than_unrelated_ones(llm_double, alice):
    texts = [
        "be honest with friends about their work",
        "be honest with friends about their cooking",
        "quarterly tax forms are due in April",
    ]

    vectors = llm.embed(texts, purpose="tests.embed", user=alice)

    assert len(vectors) == 3
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])
    assert llm_double.embedding_requests[0]["model"] == "text-embedding-3-small"
    call = LLMCall.objects.get()
    assert (call.kind, call.model, call.outcome) == ("embed", "text-embedding-3-small", "ok")


def test_embedding_nothing_makes_no_call(llm_double):
    assert llm.embed([], purpose="tests.embed") == []
    assert llm_double.requests == []
    assert not LLMCall.objects.exists()


def test_the_study_is_recorded_with_the_call(llm_double):
    from tests.factories import StudyFactory

    study = StudyFactory()
    llm.chat(HELLO, purpose="tests.chat", study=study)

    assert LLMCall.objects.get().study == study


def test_the_system_check_warns_about_an_endpoint_that_does_not_answer(settings):
    from core.llm.checks import check_llm_endpoint

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.OPENAI_BASE_URL = f"http://127.0.0.1:{closed_port}/v1"

    assert [w.id for w in check_llm_endpoint(None)] == ["core.W001"]


def test_the_system_check_is_quiet_when_the_endpoint_answers(llm_double):
    from core.llm.checks import check_llm_endpoint

    assert check_llm_endpoint(None) == []


def test_the_system_check_warns_when_the_local_model_is_missing(settings, monkeypatch):
    from core.llm import checks

    settings.OPENAI_BASE_URL = ""
    settings.OPENAI_API_KEY = ""
    monkeypatch.setattr(checks, "gguf_path", lambda: None)

    assert [w.id for w in checks.check_local_model(None)] == ["core.W002"]
