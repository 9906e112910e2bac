"""Abuse is throttled: sign-ups, sign-ins, tokens, the LLM and the write API, with the defaults."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import Job, User
from tests.conftest import PASSWORD
from tests.factories import StudyFactory, StudyTaskFactory, UserFactory

pytestmark = pytest.mark.django_db

HOME, ELSEWHERE = {"REMOTE_ADDR": "203.0.113.7"}, {"REMOTE_ADDR": "198.51.100.9"}


def join_url(pid: str) -> str:
    return f"/join/values/?PROLIFIC_PID={pid}&STUDY_ID=s1&SESSION_ID=x{pid}"


def assert_refused_in_words(response, *words: str) -> int:
    assert response.status_code == 429
    wait = int(response["Retry-After"])
    assert wait > 0
    text = response.content.decode()
    assert "Too many requests" in text and re.search(r"Please wait \d+ (second|minute|hour)", text)
    for word in words:
        assert word in text
    return wait


@pytest.fixture
def study():
    study = StudyFactory(slug="values")
    StudyTaskFactory(study=study, kind="consent", title="Consent", position=0)
    return study


def test_one_network_makes_at_most_60_participants_an_hour(client, study, settings):
    assert settings.VALUELAB_THROTTLE_RATES["join"] == "60/hour"

    # Each a new person (a browser of their own) on one network.
    answers = [Client().get(join_url(f"{n:024x}"), **HOME).status_code for n in range(61)]
    other = Client().get(join_url("f" * 24), **ELSEWHERE)

    assert answers[:60] == [302] * 60
    wait = assert_refused_in_words(
        Client().get(join_url("e" * 24), **HOME), "Too many sign-ups from your network"
    )
    assert answers[60] == 429 and 0 < wait <= 3600
    assert other.status_code == 302, "another network is not affected"
    assert User.objects.filter(role=User.Role.PARTICIPANT).count() == 61


def test_five_wrong_passwords_lock_the_account_out_for_15_minutes(client, settings):
    rita = UserFactory(username="rita", role=User.Role.RESEARCHER)
    rita.set_password(PASSWORD)
    rita.save()
    wrong = {"username": "rita", "password": "guess"}

    for _ in range(4):
        page = client.post("/login/", wrong, **HOME)
        assert page.status_code == 200 and "correct username and password" in page.text
    fifth = client.post("/login/", wrong, **HOME)
    assert_refused_in_words(fifth, "Too many failed sign-ins")
    right_but_locked = client.post("/login/", {"username": "rita", "password": PASSWORD}, **HOME)
    from_elsewhere = client.post("/login/", {"username": "rita", "password": PASSWORD}, **ELSEWHERE)

    wait = assert_refused_in_words(right_but_locked, "Too many failed sign-ins")
    assert wait == 15 * 60
    assert from_elsewhere.status_code == 429, "the account is locked, whoever asks"
    assert "_auth_user_id" not in client.session

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    after = client.post("/login/", {"username": "rita", "password": PASSWORD}, **HOME)
    assert after.status_code == 302 and client.session["_auth_user_id"] == str(rita.pk)


def test_twenty_wrong_tokens_from_one_address_then_429_even_for_a_right_one(db):
    alice = UserFactory(username="alice", role=User.Role.PARTICIPANT)
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=alice)
    api = APIClient()

    wrong = [
        api.get("/api/me/", HTTP_AUTHORIZATION=f"Token wrong{n}", **HOME).status_code
        for n in range(20)
    ]
    refused = api.get("/api/me/", HTTP_AUTHORIZATION=f"Token {token.key}", **HOME)
    elsewhere = api.get("/api/me/", HTTP_AUTHORIZATION=f"Token {token.key}", **ELSEWHERE)

    assert wrong == [403] * 20  # "Invalid token." (see test_api: session auth comes first)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many failed token sign-ins" in refused.json()["detail"]
    assert elsewhere.status_code == 200


def test_the_llm_routes_allow_20_calls_a_minute_per_user(rita, api_for):
    api = api_for(rita)

    answers = [api.post("/api/llm-check/", **HOME).status_code for _ in range(21)]

    assert answers[:20] == [202] * 20
    assert answers[20] == 429
    assert Job.objects.filter(kind="core.llm_check").count() == 20


def test_the_write_api_allows_120_changes_a_minute_per_user_and_reads_go_on(rita, api_for):
    job = Job.objects.create(kind="core.llm_check", created_by=rita)
    api = api_for(rita)

    answers = [api.post(f"/api/jobs/{job.pk}/cancel/").status_code for _ in range(121)]
    read = api.get(f"/api/jobs/{job.pk}/")

    assert answers[:120] == [200] * 120 and answers[120] == 429
    assert read.status_code == 200


def test_a_limit_set_empty_is_off(client, study, settings):
    settings.VALUELAB_THROTTLE_RATES = {**settings.VALUELAB_THROTTLE_RATES, "join": None}

    answers = {Client().get(join_url(f"{n:024x}"), **HOME).status_code for n in range(70)}

    assert answers == {302}


def test_a_sign_in_from_a_request_with_no_client_address_is_not_an_error(client):
    # force_login builds a request without REMOTE_ADDR; PostgreSQL's inet refuses "unknown".
    user = UserFactory(username="nora")
    client.force_login(user)
    assert client.get("/").status_code in (200, 302)


def test_a_forged_forwarded_address_counts_as_no_address(client, settings):
    settings.VALUELAB_PROXIES = 1
    UserFactory(username="olga")
    response = client.post(
        "/login/",
        {"username": "olga", "password": "wrong"},
        HTTP_X_FORWARDED_FOR="not-an-address",
    )
    assert response.status_code == 200
    assert AccessAttempt.objects.filter(username="olga", ip_address=None).exists()
