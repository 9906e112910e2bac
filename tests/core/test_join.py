"""Crowdworkers arrive from Prolific, are signed in, work through tasks and get the code."""

import pytest
from django.urls import reverse

from core.models import Participation, TaskCompletion, User
from core.services import participant_join
from tests.factories import StudyFactory, StudyTaskFactory

PID = "5f0c8a1b2c3d4e5f60718293"
OTHER_PID = "60a1b2c3d4e5f60718293a4b"


def join_url(slug: str, pid: str | None = PID, **extra) -> str:
    params = {"STUDY_ID": "study123", "SESSION_ID": "session456", **extra}
    if pid is not None:
        params["PROLIFIC_PID"] = pid
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"/join/{slug}/?{query}"


@pytest.fixture
def study(db):
    study = StudyFactory(slug="values", title="Values study", completion_code="ABC123")
    StudyTaskFactory(study=study, kind="consent", title="Consent", position=0)
    return study


def test_joining_from_prolific_creates_a_signed_in_participant(anon, study):
    response = anon.get(join_url("values"))

    assert response.status_code == 302
    assert response["Location"] == "/study/values/"
    user = User.objects.get(prolific_pid=PID)
    assert user.role == User.Role.PARTICIPANT
    assert user.pseudonym.startswith("p-") and PID not in user.pseudonym
    participation = Participation.objects.get(user=user, study=study)
    assert participation.prolific_study_id == "study123"
    page = anon.get("/study/values/")
    assert page.status_code == 200
    assert b"Values study" in page.content and b"Consent" in page.content


def test_returning_with_the_same_pid_and_session_resumes_and_never_duplicates(anon, study, client):
    anon.get(join_url("values"))
    resumed = client.get(join_url("values"))  # another browser, the same Prolific session

    assert resumed.status_code == 302
    assert User.objects.filter(prolific_pid=PID).count() == 1
    assert Participation.objects.filter(study=study).count() == 1
    assert client.get("/study/values/").status_code == 200


def test_the_pid_alone_does_not_resume_a_participant_from_another_browser(anon, study, client):
    anon.get(join_url("values"))

    response = client.get(join_url("values", SESSION_ID="someone-elses-session"))

    assert response.status_code == 400
    assert b"already taking part in another Prolific session" in response.content
    assert "_auth_user_id" not in client.session


def test_the_participants_own_browser_resumes_with_a_new_prolific_session(anon, study):
    anon.get(join_url("values"))

    response = anon.get(join_url("values", SESSION_ID="second-session"))

    assert response.status_code == 302
    assert Participation.objects.get(study=study).prolific_session_id == "second-session"


def test_a_returning_participant_may_resume_after_the_study_closes(anon, study, client):
    anon.get(join_url("values"))
    study.is_open = False
    study.save()

    from django.test import Client

    returning = client.get(join_url("values"))
    newcomer = Client().get(join_url("values", pid=OTHER_PID))

    assert returning.status_code == 302
    assert newcomer.status_code == 400 and b"closed" in newcomer.content


def test_a_signed_in_researcher_following_a_join_link_is_asked_first(rita_client, rita, study):
    asked = rita_client.get(join_url("values"))

    assert asked.status_code == 200
    assert b"You are signed in as rita" in asked.content
    assert rita_client.session["_auth_user_id"] == str(rita.pk), "a GET never switches account"
    assert not User.objects.filter(prolific_pid=PID).exists()

    switched = rita_client.post(join_url("values"))

    assert switched.status_code == 302
    participant = User.objects.get(prolific_pid=PID)
    assert rita_client.session["_auth_user_id"] == str(participant.pk)


def test_the_switch_needs_a_csrf_token(rita, study):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(rita)

    assert browser.post(join_url("values")).status_code == 403
    assert browser.session["_auth_user_id"] == str(rita.pk)


@pytest.mark.parametrize(
    "pid, reason",
    [
        (None, b"no Prolific participant id"),
        ("", b"no Prolific participant id"),
        ("{{%PROLIFIC_PID%}}", b"not valid"),
        ("abc", b"not valid"),
        ("5f0c8a1b2c3d4e5f60718293<script>", b"not valid"),
    ],
)
def test_join_with_a_missing_or_malformed_pid_gets_a_clear_page(anon, study, pid, reason):
    response = anon.get(join_url("values", pid=pid))

    assert response.status_code == 400
    assert reason in response.content
    assert b"go back to Prolific" in response.content
    assert User.objects.count() == 0


def test_join_of_an_unknown_study_says_so(anon, db):
    response = anon.get(join_url("nope"))

    assert response.status_code == 404
    assert b"no study at this address" in response.content


def test_a_closed_study_accepts_no_new_participants(anon, study):
    study.is_open = False
    study.save()

    response = anon.get(join_url("values"))

    assert response.status_code == 400
    assert b"closed" in response.content


def test_finishing_every_task_shows_the_completion_code_and_prolific_link(anon, study):
    anon.get(join_url("values"))
    task = study.tasks.get()
    before = anon.get("/study/values/")
    assert b"ABC123" not in before.content

    consent_url = reverse("core:consent", args=["values", task.pk])
    anon.post(consent_url, {"agree": "yes"})
    anon.post(consent_url, {"agree": "yes"})  # a double click

    assert TaskCompletion.objects.count() == 1
    after = anon.get("/study/values/")
    assert b"ABC123" in after.content
    assert b"https://app.prolific.com/submissions/complete?cc=ABC123" in after.content
    assert Participation.objects.get().completed is not None


def test_consent_without_ticking_the_box_does_not_complete_the_task(anon, study):
    anon.get(join_url("values"))
    task = study.tasks.get()

    response = anon.post(reverse("core:consent", args=["values", task.pk]), {}, follow=True)

    assert b"Tick the box" in response.content
    assert TaskCompletion.objects.count() == 0


def test_a_participant_cannot_open_a_study_they_did_not_join(alice_client, study):
    response = alice_client.get("/study/values/")

    assert response.status_code == 404


def test_the_pid_of_a_staff_account_cannot_be_used_to_sign_in(study, rita):
    rita.prolific_pid = PID
    rita.save()

    with pytest.raises(Exception, match="staff account"):
        participant_join(study=study, prolific_pid=PID)


def test_two_joins_of_the_same_pid_at_once_create_one_participant(study):
    first = participant_join(study=study, prolific_pid=OTHER_PID)
    second = participant_join(study=study, prolific_pid=OTHER_PID)

    assert first.pk == second.pk
    assert User.objects.filter(prolific_pid=OTHER_PID).count() == 1
