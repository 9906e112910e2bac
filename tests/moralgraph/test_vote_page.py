"""What the voting page records with each vote: its version and the order of Yes and No shown."""

import pytest

from core.models import Participation
from moralgraph.models import StoryImpression, Vote
from moralgraph.study_tasks import KIND
from moralgraph.vote_page import PAGE_VERSION, task_answer_order, yes_first_for
from tests.factories import StudyFactory, StudyTaskFactory

pytestmark = pytest.mark.django_db

VOTE = "/moralgraph/mg/vote/"


def _buttons(html: str) -> list[str]:
    """The answers' values in the order the page shows them."""
    return [part.split('"', 1)[0] for part in html.split('name="choice" value="')[1:]]


def _task(bob, order: str | None):
    study = StudyFactory(slug="order")
    config = {"deliberation": "mg", **({"answer_order": order} if order else {})}
    task = StudyTaskFactory(study=study, kind=KIND, config=config)
    Participation.objects.create(study=study, user=bob)
    return task


@pytest.mark.parametrize(
    ("order", "shown"),
    [
        ("yes_first", ["wiser", "not_wiser", "unsure"]),
        ("no_first", ["not_wiser", "wiser", "unsure"]),
    ],
)
def test_the_study_fixes_the_order_and_the_vote_records_it(world, bob_client, bob, order, shown):
    world.story(world.distress, world.b, world.c)
    task = _task(bob, order)

    page = bob_client.get(f"{VOTE}?task={task.pk}").content.decode()

    assert _buttons(page) == shown
    assert f'name="page_version" value="{PAGE_VERSION}"' in page
    story = StoryImpression.objects.get(voter=bob).story
    bob_client.post(
        f"{VOTE}?task={task.pk}",
        {"story": story.pk, "choice": "unsure", "page_version": PAGE_VERSION, "order": order},
    )
    vote = Vote.objects.get(voter=bob)
    assert (vote.page_version, vote.yes_first) == (PAGE_VERSION, order == "yes_first")


def test_a_form_without_order_or_version_records_the_task_order_and_the_current_version(
    world, bob_client, bob
):
    world.story(world.distress, world.b, world.c)
    task = _task(bob, "no_first")
    bob_client.get(f"{VOTE}?task={task.pk}")
    story = StoryImpression.objects.get(voter=bob).story

    bob_client.post(f"{VOTE}?task={task.pk}", {"story": story.pk, "choice": "wiser"})

    vote = Vote.objects.get(voter=bob)
    assert (vote.page_version, vote.yes_first) == (PAGE_VERSION, False)


def test_random_order_is_fixed_per_participant_and_splits_participants():
    orders = [yes_first_for(voter_id=n, deliberation_id=1, order="random") for n in range(200)]

    assert orders == [
        yes_first_for(voter_id=n, deliberation_id=1, order="random") for n in range(200)
    ]
    assert 70 < sum(orders) < 130  # about half see Yes first
    assert task_answer_order({"answer_order": "sideways"}) == "random"
    assert task_answer_order(None) == "random"


def test_votes_through_the_api_have_no_page_version(world, api_for, bob):
    world.story(world.distress, world.b, world.c)
    client = api_for(bob)
    story = client.get("/api/moralgraph/deliberations/mg/next/").json()["story"]

    response = client.post(
        "/api/moralgraph/deliberations/mg/votes/",
        {"story": story["id"], "choice": "wiser"},
        format="json",
    )

    assert response.status_code == 201
    vote = Vote.objects.get(voter=bob)
    assert (vote.page_version, vote.yes_first) == ("", None)
