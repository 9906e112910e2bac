"""A participant judges wiser-than stories on a phone, by touch and by keyboard."""

import pytest
from playwright.sync_api import expect

from core.models import Participation
from moralgraph.models import StoryImpression, Vote
from moralgraph.study_tasks import KIND
from tests.browser.steps import sign_in
from tests.factories import StudyFactory, StudyTaskFactory, UserFactory
from tests.moralgraph.conftest import World, make_voter

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_participant_votes_on_a_phone_and_finishes_the_task(live_server, phone, screenshot):
    world = World(make_voter("author"))
    world.story(
        world.distress,
        world.b,
        world.c,
        text="I used to think being honest was enough. When my sister was crying, I learned "
        "to stay with her pain first; the truth could wait until she could hear it.",
    )
    world.story(world.deciding, world.d, world.e, text="I used to lay out every option...")
    world.story(world.distress, world.c, world.b, text="I used to only sit with people...")
    bob = UserFactory(username="bob")
    study = StudyFactory(slug="mg-study", title="Which values are wiser?")
    StudyTaskFactory(
        study=study, kind=KIND, title="Judge stories", config={"deliberation": "mg", "votes": 2}
    )
    Participation.objects.create(study=study, user=bob)
    sign_in(phone, live_server.url, "bob")

    phone.goto(f"{live_server.url}/study/mg-study/")
    phone.get_by_role("link", name="Start").click()

    expect(phone.get_by_role("heading", name="Did this person become wiser?")).to_be_visible()
    expect(phone.locator("#mg-progress-text")).to_have_text("Pair 1 of 2")
    screenshot(phone, "moralgraph-vote-phone")
    # The three answers fit side by side on a phone and are big enough to tap.
    box = phone.get_by_role("button", name="Not sure").bounding_box()
    assert box["x"] + box["width"] <= 390 and box["height"] >= 40
    first = StoryImpression.objects.get(voter=bob).story
    phone.get_by_label("Why?").fill("Care came first, and it was still honest.")
    phone.get_by_role("button", name="Yes").click()

    expect(phone.locator("#mg-progress-text")).to_have_text("Pair 2 of 2")
    vote = Vote.objects.get(voter=bob)
    assert (vote.story, vote.choice) == (first, "wiser")
    assert vote.comment == "Care came first, and it was still honest."

    phone.locator("body").press("n")  # the keyboard works too

    expect(phone.get_by_role("heading", name="Thank you, that's all the pairs")).to_be_visible()
    screenshot(phone, "moralgraph-vote-done-phone")
    assert sorted(Vote.objects.filter(voter=bob).values_list("choice", flat=True)) == [
        "not_wiser",
        "wiser",
    ]
    phone.get_by_role("link", name="Back to the study").click()
    expect(phone.locator(".badge.ok")).to_have_text("Done")
