"""The REST API: signed-in users only (but the schema), roles checked, CSRF on, tokens work."""

import re

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

from core.models import Study

SAMPLE_VALUES = {
    "uuid": "3f2b8c1e-0000-4000-8000-000000000000",
    "int": "999999",
    "slug": "nothing-here",
    "str": "nothing-here",
    "path": "nothing-here",
}


def api_paths() -> list[str]:
    """Return a concrete path for every route under /api/ (placeholders filled in)."""
    paths = []

    def fill(route: str) -> str:
        return re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE_VALUES[m.group(1) or "str"], route)

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/"):
                paths.append("/" + fill(route))

    walk(get_resolver().url_patterns, "")
    return paths


def test_every_api_route_but_the_schema_refuses_an_anonymous_caller(api_for, db):
    paths = [path for path in api_paths() if path != "/api/schema/"]
    assert "/api/me/" in paths and "/api/studies/" in paths

    for path in paths:
        for method in ("get", "post"):
            response = getattr(api_for(None), method)(path)
            assert response.status_code in (401, 403), f"{method.upper()} {path}"


def test_the_openapi_schema_is_public_and_describes_the_api(api_for, db):
    response = api_for(None).get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/studies/" in schema["paths"]


def test_me_shows_the_pseudonym_and_todays_llm_budget(api_for, alice, settings):
    settings.VALUELAB_LLM_BUDGET = 7

    body = api_for(alice).get("/api/me/").json()

    assert body == {
        "username": "alice",
        "role": "participant",
        "pseudonym": alice.pseudonym,
        "llm_budget_remaining": 7,
    }


def test_a_participant_gets_403_from_a_researcher_route(api_for, alice):
    response = api_for(alice).post("/api/studies/", {"slug": "x"}, format="json")

    assert response.status_code == 403
    assert Study.objects.count() == 0


def test_a_researcher_creates_a_study_through_the_api(api_for, rita):
    response = api_for(rita).post(
        "/api/studies/",
        {
            "slug": "s1",
            "title": "S1",
            "completion_code": "DONE1",
            "tasks": [{"kind": "consent", "title": "Consent"}],
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["slug"] == "s1"
    assert list(Study.objects.get().tasks.values_list("kind", flat=True)) == ["consent"]


def test_bad_study_input_names_the_field(api_for, rita):
    response = api_for(rita).post(
        "/api/studies/",
        {
            "slug": "s2",
            "title": "S2",
            "completion_code": "has spaces",
            "tasks": [{"kind": "nope", "title": "?"}],
        },
        format="json",
    )

    assert response.status_code == 400
    assert "completion_code" in response.json()
    assert Study.objects.count() == 0


def test_session_auth_enforces_csrf(rita):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(rita)

    response = strict.post("/api/studies/", {"slug": "x"}, content_type="application/json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_create_user_prints_a_token_that_signs_in_to_the_api(db, capsys):
    call_command("create_user", "scripty", "--role", "researcher")
    token = capsys.readouterr().out.split("API token: ")[1].strip()

    from rest_framework.test import APIClient

    client = APIClient()
    response = client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {token}")

    assert response.status_code == 200
    assert response.json()["role"] == "researcher"


def test_a_wrong_token_or_a_deactivated_users_token_is_refused_with_the_reason(db, capsys):
    from rest_framework.test import APIClient

    from core.models import User

    call_command("create_user", "leaver", "--role", "researcher")
    token = capsys.readouterr().out.split("API token: ")[1].strip()
    client = APIClient()

    wrong = client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {token[:-1]}x")
    User.objects.filter(username="leaver").update(is_active=False)
    deactivated = client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {token}")

    # 403, not 401: session authentication comes first and sends no WWW-Authenticate challenge.
    assert wrong.status_code == 403 and wrong.json()["detail"] == "Invalid token."
    assert deactivated.status_code == 403
    assert deactivated.json()["detail"] == "User inactive or deleted."


def test_create_user_refuses_a_taken_name_with_a_reason(db):
    from django.core.management.base import CommandError

    call_command("create_user", "dup", "--role", "participant")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_user", "dup", "--role", "participant")


def test_llm_errors_reach_api_callers_as_clear_typed_responses():
    from core import llm
    from core.errors import api_exception_handler

    over_budget = api_exception_handler(
        llm.LLMBudgetExceeded("You have reached today's limit of 200 AI replies."), {}
    )
    down = api_exception_handler(llm.LLMUnavailable("The LLM at api.example.org is down."), {})

    assert over_budget.status_code == 429
    assert over_budget.data == {"detail": "You have reached today's limit of 200 AI replies."}
    assert down.status_code == 503
