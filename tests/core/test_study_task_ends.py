"""Every task ends: progress says what is true for this participant ("n of N", N the items or
pairs there are for them, capped by the task's number); when nothing is left the task is done
and its page leads back to the study. Bad voting settings are refused naming task and field."""

import re

import pytest
from django.test import Client

from annotation.assignment import slots_ensure
from core.models import Participation, Study, User
from core.selectors import participation_task_states
from core.services import study_create
from elicitation.models import Deliberation
from moralgraph.selectors import story_pending_for_voter
from tests.annotation.factories import SCHWARTZ10, ItemFactory, ProjectFactory
from tests.moralgraph.conftest import World, make_voter

pytestmark = pytest.mark.django_db

PID = "5f0c8a1b2c3d4e5f607182e5"


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def labelling_study(rita, *, quota, items: int):
    """A study with one labelling task on a project of no study (built from existing items)."""
    project = ProjectFactory(
        overlap=1, blind_share=0, gold_rate=0, min_seconds=0, quota_per_worker=quota
    )
    for n in range(items):
        ItemFactory(project=project, prompt=f"Prompt {n}?")
    slots_ensure(project=project)
    study_create(
        created_by=rita,
        slug="ends",
        title="Ends",
        completion_code="END1",
        tasks=[{"kind": "annotation.label", "title": "Label", "config": {"project": project.pk}}],
    )
    worker = Client()
    worker.get(f"/join/ends/?PROLIFIC_PID={PID}")
    return project, worker


def label_one(worker, project) -> str:
    from annotation.models import Slot

    slot = Slot.objects.get(project=project, state="leased")
    return worker.post(
        f"/annotation/work/{project.pk}/items/{slot.item_id}/",
        {"seconds": "9", **{f"label-{key}": "0" for key in SCHWARTZ10}},
    ).content.decode()


def test_labelling_without_a_quota_counts_against_the_items_there_are(rita, db):
    project, worker = labelling_study(rita, quota=0, items=2)

    assert "0 of 2 done" in text(worker.get(f"/annotation/work/{project.pk}/").content.decode())
    assert "1 of 2 done" in text(label_one(worker, project))
    done = text(label_one(worker, project))

    assert "2 of 2 done" in done and "All done" in done
    participation = Participation.objects.get(user__prolific_pid=PID)
    assert all(state.done for state in participation_task_states(participation=participation))


def test_labelling_progress_is_capped_by_the_items_left_for_this_participant(rita, db):
    project, worker = labelling_study(rita, quota=5, items=2)

    page = text(worker.get(f"/annotation/work/{project.pk}/").content.decode())
    assert "0 of 2 done" in page  # never "0 of 5" when 2 items are all there is
    label_one(worker, project)
    done = label_one(worker, project)

    assert "2 of 2 done" in text(done)
    assert "Back to the study" in done and 'href="/study/ends/"' in done
    assert "END1" in worker.get("/study/ends/").content.decode()


def test_the_done_labelling_page_leads_back_to_the_study_even_when_the_project_is_not_its_own(
    rita, db
):
    project, worker = labelling_study(rita, quota=1, items=3)
    assert project.study_id is None

    worker.get(f"/annotation/work/{project.pk}/")
    done = label_one(worker, project)

    assert "All done" in done and 'href="/study/ends/"' in done


def pending_story():
    voter = User.objects.get(prolific_pid=PID)
    return story_pending_for_voter(voter=voter, deliberation=Deliberation.objects.get(name="mg"))


@pytest.fixture
def voting(rita):
    world = World(make_voter("author"))
    world.story(world.distress, world.a, world.b)
    world.story(world.deciding, world.d, world.e)
    study_create(
        created_by=rita,
        slug="votes",
        title="Votes",
        completion_code="VOTE1",
        tasks=[{"kind": "moralgraph.vote", "title": "Judge", "config": {"votes": 10}}],
    )
    worker = Client()
    worker.get(f"/join/votes/?PROLIFIC_PID={PID}")
    return world, worker


def test_voting_asks_the_pairs_there_are_and_then_leads_back_to_the_study(voting):
    world, worker = voting
    study = Study.objects.get(slug="votes")
    task = study.tasks.get()
    url = f"/moralgraph/mg/vote/?task={task.pk}"

    assert "Pair 1 of 2" in worker.get(url).content.decode()  # 2 pairs exist, not 10
    for _ in range(2):
        story = pending_story()
        page = worker.post(url, {"story": story.pk, "choice": "unsure"}).content.decode()

    assert "all the pairs" in page
    assert 'href="/study/votes/"' in page
    assert "VOTE1" in worker.get("/study/votes/").content.decode()


def test_the_finished_voting_page_leads_back_to_the_study_without_a_task_in_its_address(voting):
    world, worker = voting
    url = "/moralgraph/mg/vote/"
    for _ in range(2):
        worker.get(url)
        story = pending_story()
        page = worker.post(url, {"story": story.pk, "choice": "wiser"}).content.decode()

    assert 'href="/study/votes/"' in page


def ordered_study(*tasks: dict) -> dict:
    return {
        "slug": "ordered",
        "title": "Ordered",
        "completion_code": "O1",
        "tasks": [{"title": task["kind"], **task} for task in tasks],
    }


@pytest.mark.parametrize("order", ["yes_first", "no_first", "random"])
def test_a_voting_task_keeps_a_valid_answer_order(api_for, rita, order):
    World(make_voter("author"))
    body = ordered_study({"kind": "moralgraph.vote", "config": {"answer_order": order}})
    assert api_for(rita).post("/api/studies/", body, format="json").status_code == 201
    assert Study.objects.get(slug="ordered").tasks.get().config == {"answer_order": order}


def test_a_bad_answer_order_is_refused_naming_the_task_and_field(api_for, rita, rita_client):
    World(make_voter("author"))
    body = ordered_study(
        {"kind": "consent"}, {"kind": "moralgraph.vote", "config": {"answer_order": "yes"}}
    )
    response = api_for(rita).post("/api/studies/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["tasks[1].config.answer_order"]
    assert "yes_first" in response.json()["tasks[1].config.answer_order"][0]
    assert not Study.objects.filter(slug="ordered").exists()
    page = rita_client.get("/researcher/studies/new/").content.decode()
    assert "Order of Yes and No" in page
