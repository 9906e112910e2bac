"""Shared fixtures: the personas every permission test is written in, and clients for them.

Alice and Bob are participants, Rita is a researcher, Adam is an admin; ``anon`` is a visitor
who has not signed in.
"""

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from core.models import User
from tests.factories import UserFactory
from tests.llm_double import PROFILES, OpenAIDouble

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Hash test passwords cheaply: production's hasher costs about a second per user here."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True, scope="session")
def _rate_limits_in_this_process():
    """Count rate limits in memory (never in CI's Redis broker), fresh for each test."""
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "throttle": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"},
    }
    with override_settings(CACHES=caches):
        yield


@pytest.fixture(autouse=True, scope="session")
def _serialized_rollback_starts_from_an_empty_database(django_db_setup, django_db_blocker):
    """Let a ``serialized_rollback`` test run after any other transactional test.

    A transactional test without it is flushed afterwards *with* the post-migrate signal, which
    writes content types and permissions back; restoring the serialized database on top of them
    then fails (``UNIQUE constraint failed: django_content_type``), so such tests passed only in
    the suite's file order. Flushing (without the signal) right before the restore makes the
    restore start from an empty database, whatever ran before.
    """
    from django.core.management import call_command
    from django.db import connections

    restores = {}
    for connection in connections.all(initialized_only=True) or [connections["default"]]:
        creation = connection.creation
        restore = creation.deserialize_db_from_string

        def flush_then_restore(data, *, _restore=restore, _alias=connection.alias):
            call_command(
                "flush", database=_alias, interactive=False, verbosity=0,
                inhibit_post_migrate=True, reset_sequences=False,
            )  # fmt: skip
            _restore(data)

        creation.deserialize_db_from_string = flush_then_restore
        restores[creation] = restore
    yield
    for creation, restore in restores.items():
        creation.deserialize_db_from_string = restore


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    from django.core.cache import caches

    caches["throttle"].clear()


@pytest.fixture(autouse=True)
def _no_llm_calls_left_by_other_tests(request):
    """Start each database test with no LLM call records from tests before it.

    Threads (pre-labelling, the gateway's concurrency) record calls on their own connections,
    committed outside the test's transaction; on PostgreSQL they stay for the next tests. The
    delete here is rolled back with the test's transaction.
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is None or marker.kwargs.get("transaction"):
        return
    if {"transactional_db", "live_server"} & set(request.fixturenames):
        return
    request.getfixturevalue("db")
    from core.models import LLMCall

    LLMCall.objects.all().delete()


@pytest.fixture
def alice(db) -> User:
    return UserFactory(username="alice", role=User.Role.PARTICIPANT)


@pytest.fixture
def bob(db) -> User:
    return UserFactory(username="bob", role=User.Role.PARTICIPANT)


@pytest.fixture
def rita(db) -> User:
    return UserFactory(username="rita", role=User.Role.RESEARCHER)


@pytest.fixture
def adam(db) -> User:
    return UserFactory(username="adam", role=User.Role.ADMIN, is_staff=True, is_superuser=True)


def _client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def anon() -> Client:
    return Client()


@pytest.fixture
def alice_client(alice) -> Client:
    return _client_for(alice)


@pytest.fixture
def bob_client(bob) -> Client:
    return _client_for(bob)


@pytest.fixture
def rita_client(rita) -> Client:
    return _client_for(rita)


@pytest.fixture
def api_for():
    """Return an API client signed in as the given user (session auth, CSRF enforced)."""

    def make(user: User | None) -> APIClient:
        client = APIClient(enforce_csrf_checks=True)
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return make


def _serve_double(settings, profile: str = "openai"):
    from django.core.cache import cache

    # What the gateway learned about another test's endpoint must not leak into this one.
    cache.clear()
    with OpenAIDouble(profile=profile) as double:
        settings.OPENAI_BASE_URL = double.url
        settings.OPENAI_API_KEY = "test-key"
        settings.VALUELAB_LLM_MODEL = ""
        settings.VALUELAB_LLM_TIMEOUT = 10
        settings.VALUELAB_LLM_MAX_RETRIES = 1
        yield double
    cache.clear()


@pytest.fixture
def llm_double(settings):
    """Serve the scripted OpenAI double on loopback and point the gateway at it.

    Retries are fast and the timeout short, so failure tests finish quickly.
    """
    yield from _serve_double(settings)


@pytest.fixture(params=sorted(PROFILES))
def llm_server(request, settings):
    """The double as each kind of server researchers run (``PROFILES``), one test run each."""
    yield from _serve_double(settings, profile=request.param)


@pytest.fixture
def eager_jobs():
    """Run jobs in this process as soon as they are enqueued (at commit), not on a worker."""
    from valuelab.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False
