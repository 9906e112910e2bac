"""A subject's endpoint is asked through the gateway's public ``llm.chat(endpoint=…)``."""

import threading

import pytest

from core.llm import slots
from core.models import LLMCall
from evaluation.generation import SubjectSpec, generate
from tests.llm_double import OpenAIDouble

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject_endpoint(settings, monkeypatch):
    """A subject's own endpoint, with its own key (not the configured LLM's)."""
    from django.core.cache import cache

    settings.VALUELAB_LLM_TIMEOUT = 5
    settings.VALUELAB_LLM_MAX_RETRIES = 1
    settings.VALUELAB_LLM_CONCURRENCY = 8
    monkeypatch.setenv("SUBJECT_KEY", "subject-secret")
    cache.clear()
    with OpenAIDouble(api_key="subject-secret") as double:
        yield double
    cache.clear()


def test_a_subject_is_asked_with_its_key_every_call_recorded_and_at_most_its_concurrency_in_flight(
    subject_endpoint, monkeypatch
):
    subject_endpoint.latency = 0.2
    held, most = [0], [0]
    lock = threading.Lock()
    acquire = slots.acquire

    def counting_acquire(endpoint, **kwargs):
        slot = acquire(endpoint, **kwargs)
        with lock:
            held[0] += 1
            most[0] = max(most[0], held[0])
        release = slot.release

        def counted_release():
            with lock:
                held[0] -= 1
            release()
            slot.release = release

        slot.release = counted_release
        return slot

    monkeypatch.setattr(slots, "acquire", counting_acquire)
    spec = SubjectSpec(
        kind="endpoint",
        endpoint=subject_endpoint.url,
        model="subject-model",
        api_key_env="SUBJECT_KEY",
        concurrency=2,
    )

    outcomes = list(generate(spec, [f"Question {n}?" for n in range(8)]))

    assert sorted(o.index for o in outcomes) == list(range(8))
    assert all(o.error is None and o.text for o in outcomes)
    assert most[0] == 2
    sent = subject_endpoint.chat_requests
    assert {r.headers["authorization"] for r in sent} == {"Bearer subject-secret"}
    assert {r["model"] for r in sent} == {"subject-model"}
    calls = LLMCall.objects.filter(purpose="evaluation.generate")
    assert calls.count() == 8
    assert set(calls.values_list("outcome", flat=True)) == {"ok"}


def test_a_wrong_key_is_a_refusal_for_every_prompt_not_an_outage(subject_endpoint, monkeypatch):
    monkeypatch.setenv("SUBJECT_KEY", "wrong")
    spec = SubjectSpec(
        kind="endpoint", endpoint=subject_endpoint.url, model="m", api_key_env="SUBJECT_KEY"
    )

    outcomes = list(generate(spec, ["Hello?"]))

    assert len(outcomes) == 1 and outcomes[0].error is not None
    assert "401" in outcomes[0].error.message or "key" in outcomes[0].error.message.lower()
