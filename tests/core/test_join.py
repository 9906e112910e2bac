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


def test_returning_with_the_same_pid_resumes_and_never_duplicates(anon, study, client):
    anon.get(join_url("values"))
    client.get(join_url("values", SESSION_ID="second-session"))

    assert User.objects.filter(prolific_pid=PID).count() == 1
    participation = Participation.objects.get(study=study)
    assert participation.prolific_session_id == "second-session"
    assert client.get("/study/values/").status_code == 200


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
