import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Hash the personas' passwords cheaply: these tests never check a password's strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def fresh_cache():
    """An empty cache before and after (the dashboard and the review queue cache figures)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def three_workers(db):
    """Three participants: worker0, worker1, worker2."""
    from tests.factories import UserFactory

    return [UserFactory(username=f"worker{n}") for n in range(3)]
