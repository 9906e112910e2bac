"""Who may use what: a wrong role is sent to sign in (pages) or refused 403 (API), never data."""

import pytest
from django.urls import reverse

from core.jobs import job_start
from tests.factories import StudyFactory

RESEARCHER_PAGES = ["/researcher/", "/researcher/studies/new/"]


@pytest.mark.parametrize("path", RESEARCHER_PAGES)
def test_an_anonymous_visitor_is_sent_to_sign_in(anon, db, path):
    response = anon.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith(f"/login/?next={path}")


@pytest.mark.parametrize("path", RESEARCHER_PAGES)
def test_a_participant_never_sees_a_researcher_page(alice_client, path):
    response = alice_client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_participant_never_sees_a_researchers_study_page(alice_client):
    StudyFactory(slug="secret", completion_code="SECRET42")

    response = alice_client.get("/researcher/studies/secret/", follow=True)

    assert b"SECRET42" not in response.content


@pytest.mark.parametrize("path", RESEARCHER_PAGES)
def test_a_researcher_sees_researcher_pages(rita_client, path):
    assert rita_client.get(path).status_code == 200


def test_an_admin_holds_every_role(adam):
    assert adam.has_role("researcher") and adam.has_role("participant")


def test_a_researcher_can_sign_in_with_a_password_and_lands_on_their_home(client, rita):
    response = client.post(
        "/login/", {"username": "rita", "password": "correct horse battery staple"}, follow=True
    )

    assert response.redirect_chain[-1][0] == "/researcher/"
    assert b"Researcher home" in response.content


def test_a_wrong_password_is_refused_with_a_message(client, rita):
    response = client.post("/login/", {"username": "rita", "password": "wrong"})

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_a_participant_cannot_see_another_users_job(
    alice_client, rita, django_capture_on_commit_callbacks
):
    job = job_start(kind="core.llm_check", created_by=rita)

    response = alice_client.get(reverse("core:job", args=[job.pk]))

    assert response.status_code == 404


def test_the_researcher_creates_a_study_from_the_page(rita_client):
    response = rita_client.post(
        "/researcher/studies/new/",
        {
            "title": "Abortion advice",
            "slug": "abortion-advice",
            "description": "",
            "completion_code": "CODE1",
            "task-consent-on": "on",
            "consent_text": "We store answers under a pseudonym.",
        },
        follow=True,
    )

    assert response.status_code == 200
    assert b"Abortion advice" in response.content
    assert b"/join/abortion-advice/?PROLIFIC_PID={{%PROLIFIC_PID%}}" in response.content


def test_a_study_with_a_taken_slug_is_refused_with_the_field_named(rita_client):
    StudyFactory(slug="taken")

    response = rita_client.post(
        "/researcher/studies/new/",
        {"title": "T", "slug": "taken", "completion_code": "C"},
    )

    assert response.status_code == 200
    assert b"Study with this Slug already exists" in response.content


def test_healthz_answers_when_the_database_does(anon, db):
    response = anon.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


PUBLIC_ROUTES = {"home", "healthz", "login", "logout", "join", "api-schema", "favicon"}


def test_every_route_states_who_may_use_it():
    from django.urls import URLPattern, URLResolver, get_resolver

    from core.roles import HasRole

    unstated = []

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue  # Django's admin checks is_staff itself
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern):
                if pattern.name in PUBLIC_ROUTES:
                    continue
                view = pattern.callback
                view_class = getattr(view, "view_class", None)
                if view_class is not None and hasattr(view_class, "permission_classes"):
                    if not all(issubclass(p, HasRole) for p in view_class.permission_classes):
                        unstated.append(str(pattern.pattern))
                elif not getattr(view, "allowed_roles", None):
                    unstated.append(str(pattern.pattern))

    walk(get_resolver().url_patterns)

    assert unstated == []
