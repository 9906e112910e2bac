"""Interview quality: finished chats graded once per grader version, compared per prompt version."""

import pytest
from django.urls import reverse

from core.models import Job
from elicitation.grading import (
    GRADER_VERSION,
    chat_grade,
    grades_by_interviewer,
    grading_schedule,
    grading_start,
)
from elicitation.models import Chat, ChatGrade, Message
from tests.elicitation.factories import DeliberationFactory, ScenarioFactory, ValuesCardFactory

pytestmark = pytest.mark.django_db

GOOD = {
    "personal_story": True,
    "led_the_witness": False,
    "one_question_at_a_time": True,
    "card_clarity": 5,
    "notes": "A clear story and a faithful card.",
}
POOR = {
    "personal_story": False,
    "led_the_witness": True,
    "one_question_at_a_time": False,
    "card_clarity": 2,
    "notes": "It suggested the answer.",
}


@pytest.fixture
def scenario():
    return ScenarioFactory(
        deliberation=DeliberationFactory(name="abortion"), question="Should I keep it?"
    )


def _chat(scenario, participant, *, version="1", state=Chat.State.APPROVED):
    card = ValuesCardFactory(deliberation=scenario.deliberation, title="Kind honesty")
    chat = Chat.objects.create(
        participant=participant,
        scenario=scenario,
        prompt_name="mge-interviewer",
        prompt_version=version,
        state=state,
        card=card,
    )
    Message.objects.create(chat=chat, role="assistant", text="What should it consider?")
    Message.objects.create(chat=chat, role="user", text="When my friend was pregnant at 17...")
    return chat


def test_a_finished_chat_is_graded_with_the_transcript_and_card_and_only_once(
    scenario, alice, llm_double
):
    chat = _chat(scenario, alice)
    llm_double.reply_json(GOOD)

    grade = chat_grade(chat=chat)
    again = chat_grade(chat=chat)

    assert again == grade
    assert (grade.personal_story, grade.led_the_witness, grade.card_clarity) == (True, False, 5)
    assert grade.grader_version == GRADER_VERSION
    assert len(llm_double.chat_requests) == 1
    sent = llm_double.chat_requests[0]["messages"][-1]["content"]
    assert "Participant: When my friend was pregnant at 17" in sent
    assert "Title: Kind honesty" in sent and "Should I keep it?" in sent


def test_the_job_grades_only_approved_ungraded_chats_and_a_rerun_asks_nothing(
    scenario, alice, bob, llm_double, eager_jobs, django_capture_on_commit_callbacks
):
    done = _chat(scenario, alice)
    _chat(scenario, bob, state=Chat.State.OPEN)
    llm_double.reply_json(GOOD)

    with django_capture_on_commit_callbacks(execute=True):
        first = grading_start(deliberation=scenario.deliberation, token="a")
        second = grading_start(deliberation=scenario.deliberation, token="b")

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == Job.Status.SUCCEEDED
    assert (first.result["graded"], second.result["graded"]) == (1, 0)
    assert list(ChatGrade.objects.values_list("chat", flat=True)) == [done.pk]
    assert len(llm_double.chat_requests) == 1


def test_an_out_of_range_grade_is_retried_then_the_chat_is_left_ungraded(
    scenario, alice, llm_double, eager_jobs, django_capture_on_commit_callbacks
):
    _chat(scenario, alice)
    for _ in range(3):
        llm_double.reply_json({**GOOD, "card_clarity": 9})

    with django_capture_on_commit_callbacks(execute=True):
        job = grading_start(token="x")

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "no usable grade" in job.error
    assert not ChatGrade.objects.exists()


def test_researchers_compare_two_interviewer_versions_side_by_side(
    scenario, alice, bob, rita_client, alice_client, llm_double
):
    for participant, version, grade in ((alice, "1", POOR), (bob, "2", GOOD)):
        llm_double.reply_json(grade)
        chat_grade(chat=_chat(scenario, participant, version=version))
    llm_double.reply_json(GOOD)
    chat_grade(chat=_chat(scenario, alice, version="2"))

    rows = grades_by_interviewer(deliberation=scenario.deliberation)

    assert [(r.prompt_version, r.chats, r.personal_story, r.card_clarity) for r in rows] == [
        ("1", 1, 0.0, 2.0),
        ("2", 2, 1.0, 5.0),
    ]
    url = reverse("elicitation:researcher_grades", args=["abortion"])
    html = rita_client.get(url).content.decode()
    assert "<code>mge-interviewer</code><br>v1" in html
    assert "<code>mge-interviewer</code><br>v2" in html
    assert "100%" in html and "2.0" in html
    assert "[34, 100]" in html  # 2 of 2 interviews got a story: the Wilson interval
    assert "[5.0, 5.0]" in html  # both rated 5 for clarity
    assert rows[1].intervals["personal_story"] == [34, 100]
    assert "card_clarity" not in rows[0].intervals  # one interview: no interval
    assert alice_client.get(url).status_code == 302


def test_the_hourly_schedule_starts_one_grading_job_only_when_chats_wait(
    scenario, alice, llm_double, eager_jobs, django_capture_on_commit_callbacks
):
    from elicitation.tasks import grade_scheduled

    assert grading_schedule() is None
    _chat(scenario, alice)
    llm_double.reply_json(GOOD)
    with django_capture_on_commit_callbacks(execute=True):
        job = grading_schedule()
        assert grading_schedule() == job  # the same hour: the same job
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.result["graded"] == 1
    grade_scheduled()  # the beat task: nothing waits now, so no new job
    assert Job.objects.count() == 1


def test_the_schedule_waits_while_a_grading_run_is_under_way(scenario, alice):
    _chat(scenario, alice)
    grading_start(deliberation=scenario.deliberation)  # queued, never run in this test

    assert grading_schedule() is None


def test_a_graded_transcript_shows_its_grades_once_and_a_plain_tab_title(
    scenario, alice, rita_client, llm_double
):
    chat = _chat(scenario, alice)
    llm_double.reply_json(GOOD)
    chat_grade(chat=chat)

    html = rita_client.get(reverse("elicitation:researcher_transcript", args=[chat.pk])).content
    html = html.decode()

    title = html[html.index("<title>") + len("<title>") : html.index("</title>")]
    assert title.strip() == f"Interview #{chat.pk} · ValueLab"
    assert html.count("<h2>Grades</h2>") == 1
    assert "A clear story and a faithful card." in html
