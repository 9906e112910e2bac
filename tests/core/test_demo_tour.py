"""The demo as people meet it: after ``seed_demo``, every researcher page and every task opens."""

import re

import pytest
from django.core.management import call_command
from django.test import Client

from core.models import Participation, StudyTask, User
from core.study_tasks import TASK_TYPES

pytestmark = pytest.mark.django_db

PID = "5f1a2b3c4d5e6f708192a3b4"


@pytest.fixture
def demo():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_the_demo_study_walks_a_participant_through_every_app(demo):
    worker = Client()
    study_page = worker.get(f"/join/demo/?PROLIFIC_PID={PID}", follow=True)
    html = study_page.content.decode()
    assert study_page.status_code == 200
    titles = [
        "Talk about what a good answer needs",
        "Label AI answers on values",
        "Judge wiser-than stories",
    ]
    assert all(title in html for title in titles)
    assert [html.index(title) for title in titles] == sorted(html.index(t) for t in titles)

    consent = StudyTask.objects.get(study__slug="demo", kind="consent")
    worker.post(f"/study/demo/consent/{consent.pk}/", {"agree": "yes"})
    html = worker.get("/study/demo/").content.decode()
    assert re.search(r'href="/elicitation/[^"]*">Start</a>', html)

    participation = Participation.objects.get(user__prolific_pid=PID)
    interview = StudyTask.objects.get(study__slug="demo", kind="elicitation")
    interview_url = TASK_TYPES["elicitation"].url(participation, interview)
    assert worker.get(interview_url).status_code == 200
    # Tasks are taken in order: a later task's address leads back to the interview.
    for task in StudyTask.objects.filter(study__slug="demo", position__gt=interview.position):
        url = TASK_TYPES[task.kind].url(participation, task)
        response = worker.get(url)
        assert (response.status_code, response.url) == (302, interview_url), (task.kind, url)


@pytest.mark.parametrize(
    "url",
    [
        "/researcher/",
        "/researcher/studies/demo/",
        "/elicitation/researcher/",
        "/elicitation/researcher/d/demo-interviews/",
        "/annotation/projects/",
        "/annotation/projects/demo-fulcra/",
        "/annotation/projects/demo-fulcra/dashboard/",
        "/annotation/projects/demo-fulcra/review/",
        "/moralgraph/",
        "/moralgraph/demo-graph/",
        "/moralgraph/demo-graph/explorer/",
        "/training/models/",
        "/training/targets/",
        "/training/align/",
        "/training/train/",
    ],
)
def test_every_researcher_page_opens_on_the_demo(demo, url):
    researcher = Client()
    researcher.force_login(User.objects.get(username="researcher"))

    response = researcher.get(url)

    assert response.status_code == 200, url
    for name in ["Interviews", "Moral graphs", "Annotation", "Models"]:
        assert f">{name}</a>" in response.content.decode()
