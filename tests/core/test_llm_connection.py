"""The gateway holds no database connection while the model answers (issue 12: a slow LLM never
slows the site; 200 waiting turns must not hold 200 PostgreSQL connections)."""

import pytest
from django.db import connection

from core import llm
from core.llm.openai_backend import OpenAIBackend
from core.models import LLMCall

HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def connection_at_call(monkeypatch):
    """Note, for each request the backend sends, whether a database connection was open."""
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("an in-memory SQLite database is never closed (CI runs PostgreSQL)")
    # Connections per request, as the ASGI server has them (valuelab/asgi.py).
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    seen: list[bool] = []
    for name in ("chat", "stream", "structured", "embed"):
        real = getattr(OpenAIBackend, name)

        def spy(self, *args, _real=real, **kwargs):
            seen.append(connection.connection is not None)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(OpenAIBackend, name, spy)
    return seen


@pytest.mark.django_db(transaction=True)
def test_no_connection_is_held_while_the_model_answers_and_every_call_is_recorded(
    llm_double, alice, connection_at_call
):
    llm_double.reply("Hi.").reply("Streamed hi.").reply_json({"answer": "4"})
    LLMCall.objects.count()  # the caller was using the database

    assert llm.chat(HELLO, purpose="tests.chat", user=alice).text == "Hi."
    assert "".join(llm.chat_stream(HELLO, purpose="tests.stream", user=alice)) == "Streamed hi."
    llm.embed(["honesty"], purpose="tests.embed", user=alice)

    assert connection_at_call == [False, False, False]
    # The budget was reserved before, and each call recorded after, on a connection opened again.
    assert LLMCall.objects.filter(user=alice, outcome="ok").count() == 3


@pytest.mark.django_db
def test_inside_a_transaction_the_connection_is_kept(llm_double, alice, monkeypatch):
    seen = []
    real = OpenAIBackend.chat

    def spy(self, *args, **kwargs):
        seen.append(connection.in_atomic_block and connection.connection is not None)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(OpenAIBackend, "chat", spy)
    llm.chat(HELLO, purpose="tests.chat", user=alice)
    assert seen == [True]  # closing it would lose the transaction's work


@pytest.mark.django_db(transaction=True)
def test_a_persistent_connection_is_kept(llm_double, alice, connection_at_call, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)  # a worker thread's
    LLMCall.objects.count()
    llm.chat(HELLO, purpose="tests.chat", user=alice)
    assert connection_at_call == [True]  # no reconnection per call


@pytest.mark.django_db(transaction=True)
def test_an_unlimited_persistent_connection_is_kept(
    llm_double, alice, connection_at_call, monkeypatch
):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", None)  # None: never closed
    LLMCall.objects.count()
    llm.chat(HELLO, purpose="tests.chat", user=alice)
    assert connection_at_call == [True]
