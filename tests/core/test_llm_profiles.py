"""The gateway against doubles of the servers researchers run: llama-cpp-python's server,
llama.cpp's llama-server, vLLM, Ollama and OpenAI (``tests.llm_double.PROFILES``)."""

import threading

import pytest
from pydantic import BaseModel, Field

from core import llm
from core.llm.capabilities import capabilities_for
from core.models import LLMCall
from tests.llm_double import OpenAIDouble

pytestmark = pytest.mark.django_db

HELLO = [{"role": "user", "content": "Say hello."}]


class Story(BaseModel):
    title: str = Field(max_length=60)
    text: str = Field(min_length=3, max_length=2000)


def endpoint_capabilities(double: OpenAIDouble):
    return capabilities_for(double.url, "gpt-4o-mini")


def long_interview(turns: int) -> list[dict]:
    messages = [
        {"role": "system", "content": "SYSTEM PROMPT: interview the person kindly."},
        {"role": "assistant", "content": "SCENARIO: What should a chatbot say to a tired nurse?"},
    ]
    for number in range(turns):
        messages.append({"role": "user", "content": f"answer {number} " + "word " * 60})
        messages.append({"role": "assistant", "content": f"question {number}?"})
    messages.append({"role": "user", "content": "LAST ANSWER: I look for their breathing."})
    return messages


def test_structured_output_works_against_every_server(llm_server):
    story = llm.structured(HELLO, schema=Story, purpose="tests.story")

    assert Story.model_validate(story.model_dump()) == story
    call = LLMCall.objects.get()
    assert call.outcome == "ok"
    # No server was sent a 2,000-character limit to compile into a grammar.
    assert "grammar_too_large" not in llm_server.refusals


def test_llama_cpp_python_falls_back_to_json_object_and_remembers_it(settings):
    with OpenAIDouble(profile="llama-cpp-python") as double:
        settings.OPENAI_BASE_URL = double.url
        settings.VALUELAB_LLM_MAX_RETRIES = 3
        first = llm.structured(HELLO, schema=Story, purpose="tests.story")
        second = llm.structured(HELLO, schema=Story, purpose="tests.story")

        formats = [r["response_format"]["type"] for r in double.chat_requests]

    assert first == second
    # One refused json_schema request (never retried), then json_object with the schema.
    assert formats == ["json_schema", "json_object", "json_object"]
    assert double.chat_requests[1]["response_format"]["schema"]["required"] == ["title", "text"]
    assert endpoint_capabilities(double).structured_mode == "json_object"
    calls = list(LLMCall.objects.order_by("pk"))
    assert [c.outcome for c in calls] == ["ok", "ok"]
    assert calls[0].attempts == 2


def test_a_server_that_enforces_no_schema_gets_the_schema_in_words(llm_double, monkeypatch):
    # A server that refuses every response_format (400 naming it).
    from tests import llm_double as double_module

    monkeypatch.setattr(
        llm_double, "profile", double_module.Profile("strict", response_formats=frozenset({"text"}))
    )
    story = llm.structured(HELLO, schema=Story, purpose="tests.story")

    last = llm_double.chat_requests[-1]
    assert "response_format" not in last
    assert "matches this JSON schema" in last["messages"][0]["content"]
    assert story.title
    assert endpoint_capabilities(llm_double).structured_mode == "instructions"


def test_a_refusal_is_not_retried_and_its_message_shows_no_traceback_or_path(llm_double):
    llm_double.fail(
        status=500,
        message=(
            "[{'type': 'literal_error', 'loc': ('body', 'tools'), 'msg': \"Input should be "
            "'none' or 'auto'\"}]\nTraceback (most recent call last):\n  File "
            '"/srv/llama/site-packages/llama_cpp/server/app.py", line 3, in x'
        ),
        times=3,
    )

    with pytest.raises(llm.LLMRefused) as raised:
        llm.chat(HELLO, purpose="tests.chat")

    assert len(llm_double.chat_requests) == 1
    message = raised.value.message
    assert "Traceback" not in message and "/srv/llama" not in message
    assert "Input should be 'none' or 'auto'" in message
    assert LLMCall.objects.get().outcome == "refused"


def test_a_model_the_server_does_not_have_is_named_as_such(llm_double):
    llm_double.fail(status=404, message='model "qwen9" not found, try pulling it first')

    with pytest.raises(llm.LLMRefused, match="does not serve that model"):
        llm.chat(HELLO, purpose="tests.chat")

    assert len(llm_double.chat_requests) == 1


def test_per_token_embeddings_are_mean_pooled_and_the_shape_remembered(settings):
    with OpenAIDouble(profile="llama-cpp-python") as double:
        settings.OPENAI_BASE_URL = double.url
        vectors = llm.embed(["kind words", "honest words", "kind words"], purpose="tests.embed")
        caps = capabilities_for(double.url, "text-embedding-3-small")

    assert len(vectors) == 3 and {len(v) for v in vectors} == {64}
    assert vectors[0] == vectors[2]
    assert caps.embedding_shape == "per_token" and caps.embedding_dimensions == 64
    assert "mean-pooled" in LLMCall.objects.get().error


def test_flat_embeddings_pass_unchanged(llm_server):
    vectors = llm.embed(["kindness", "honesty"], purpose="tests.embed")

    assert len(vectors) == 2 and {len(v) for v in vectors} == {64}


def test_embeddings_of_different_dimensions_are_refused(llm_double, monkeypatch):
    from tests import llm_double as double_module

    real = double_module.hashed_embedding
    monkeypatch.setattr(
        double_module, "hashed_embedding", lambda text, d=64: real(text, 32 if "b" in text else d)
    )

    with pytest.raises(llm.LLMInvalidOutput, match="different dimensions"):
        llm.embed(["a", "b"], purpose="tests.embed")


def test_a_stream_without_usage_is_booked_with_estimated_tokens(settings):
    with OpenAIDouble(profile="llama-cpp-python") as double:
        settings.OPENAI_BASE_URL = double.url
        double.reply("Hello there, friend.")
        text = "".join(llm.chat_stream(HELLO, purpose="tests.stream"))

    call = LLMCall.objects.get()
    assert text == "Hello there, friend."
    assert call.tokens_estimated is True
    assert call.prompt_tokens > 0 and call.completion_tokens > 0


def test_a_server_with_usage_is_booked_exactly(llm_double):
    llm_double.reply("Hello there.", prompt_tokens=17, completion_tokens=3)
    "".join(llm.chat_stream(HELLO, purpose="tests.stream"))

    call = LLMCall.objects.get()
    assert (call.prompt_tokens, call.completion_tokens, call.tokens_estimated) == (17, 3, False)


def test_an_empty_reply_is_a_failure_not_ok_with_zero_tokens(llm_double):
    llm_double.empty_stream().empty_stream()

    with pytest.raises(llm.LLMEmptyReply):
        "".join(llm.chat_stream(HELLO, purpose="tests.stream"))

    assert LLMCall.objects.get().outcome == "invalid"


def test_a_stream_dropped_mid_reply_is_an_outage_and_recorded(llm_double):
    llm_double.drop_stream("One two three four five six seven", after=2)

    pieces = []
    with pytest.raises(llm.LLMUnavailable, match="broke off"):
        for piece in llm.chat_stream(HELLO, purpose="tests.stream"):
            pieces.append(piece)

    assert 0 < len(pieces) < 7
    assert LLMCall.objects.get().outcome == "error"


@pytest.mark.parametrize("streamed", [False, True])
def test_a_long_interview_is_trimmed_to_the_context_keeping_system_and_scenario(
    llm_server, settings, streamed
):
    settings.VALUELAB_LLM_CONTEXT_TOKENS = 32_000  # more than the servers have: they must refuse
    if llm_server.profile.name == "ollama":
        # Ollama never refuses, it cuts silently: ValueLab must be told its num_ctx.
        settings.VALUELAB_LLM_CONTEXT_TOKENS = llm_server.context_tokens
    llm_server.context_tokens = llm_server.context_tokens or 2048
    messages = long_interview(turns=90)  # about 5,800 of the double's tokens
    llm_server.reply("What did you notice then?")

    if streamed:
        text = "".join(
            llm.chat_stream(messages, purpose="tests.interview", ask=llm.Generation(max_tokens=100))
        )
    else:
        text = llm.chat(
            messages, purpose="tests.interview", ask=llm.Generation(max_tokens=100)
        ).text

    assert text == "What did you notice then?"
    answered = llm_server.chat_requests[-1]["messages"]
    assert answered[0]["content"].startswith("SYSTEM PROMPT")
    assert answered[1]["content"].startswith("SCENARIO")
    assert answered[-1]["content"].startswith("LAST ANSWER")
    assert answered[2]["role"] == "user"
    assert len(answered) < len(messages)
    assert llm_server.truncations == 0
    assert LLMCall.objects.get().outcome == "ok"


def test_a_prompt_that_cannot_be_trimmed_enough_is_refused_clearly(settings):
    with OpenAIDouble(profile="vllm", context_tokens=50) as double:
        settings.OPENAI_BASE_URL = double.url
        messages = [{"role": "system", "content": "word " * 200}, *HELLO]

        with pytest.raises(llm.LLMContextExceeded, match="longer than the model's context"):
            llm.chat(messages, purpose="tests.chat")

    assert LLMCall.objects.get().outcome == "refused"


def test_requests_in_flight_to_one_endpoint_are_bounded(llm_double, settings):
    settings.VALUELAB_LLM_CONCURRENCY = 2
    llm_double.latency = 0.3
    active, peak, lock = [0], [0], threading.Lock()
    real_handler = llm_double._wait

    def counting_wait(seconds):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            real_handler(seconds)
        finally:
            with lock:
                active[0] -= 1

    llm_double._wait = counting_wait
    settings.VALUELAB_LLM_TIMEOUT = 1  # six calls of 0.3 s through two slots take ~0.9 s each

    errors = []

    def call():
        try:
            llm.chat(HELLO, purpose="tests.chat")
        except llm.LLMError as error:
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []  # waiting for a slot did not count against the 1 s timeout
    assert peak[0] == 2
