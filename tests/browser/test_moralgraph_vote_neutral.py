"""The voting page favours no answer, says how to answer, keeps a typed comment through a
reload, and records with each vote the page version and the order of Yes and No it showed."""

import pytest
from playwright.sync_api import expect

from core.models import Participation
from moralgraph.models import Vote
from moralgraph.study_tasks import KIND
from moralgraph.vote_page import PAGE_VERSION
from tests.browser.pages import in_first_screen, looks, watch
from tests.browser.steps import sign_in
from tests.factories import StudyFactory, StudyTaskFactory, UserFactory
from tests.moralgraph.conftest import World, make_voter

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_STORY = " ".join(
    ["I used to think being honest was enough, and I told people the facts straight away."] * 6
)


def voting_study(answer_order: str | None, votes: int = 2):
    world = World(make_voter("author"))
    world.story(world.distress, world.b, world.c, text=LONG_STORY)
    world.story(world.deciding, world.d, world.e, text="I used to lay out every option...")
    world.story(world.distress, world.c, world.b, text="I used to only sit with people...")
    study = StudyFactory(slug="mg-study", title="Which values are wiser?")
    config = {"deliberation": "mg", "votes": votes}
    if answer_order:
        config["answer_order"] = answer_order
    StudyTaskFactory(study=study, kind=KIND, title="Judge stories", config=config)
    return study


def test_on_a_phone_the_answers_look_alike_follow_the_study_order_and_are_in_reach(
    live_server, phone, screenshot
):
    study = voting_study("no_first")
    bob = UserFactory(username="bob")
    Participation.objects.create(study=study, user=bob)
    problems = watch(phone)
    sign_in(phone, live_server.url, "bob")
    phone.goto(f"{live_server.url}/study/mg-study/")
    phone.get_by_role("link", name="Start").click()

    # Instructions with an example come before the first pair.
    howto = phone.locator("#mg-howto")
    expect(howto).to_have_attribute("open", "")
    expect(howto).to_contain_text("Example")
    # The study fixed No before Yes; the three answers look the same and are tappable
    # without scrolling, though the story is long.
    answers = phone.locator(".mg-choices button")
    expect(answers).to_have_text(["No", "Yes", "Not sure"])
    assert len(set(looks(answers))) == 1, looks(answers)
    for name in ("No", "Yes", "Not sure"):
        assert in_first_screen(phone, phone.get_by_role("button", name=name, exact=True)), name
    screenshot(phone, "vote-pair-phone")
    screenshot(phone, "vote-pair-phone-first-screen", full_page=False)

    # A typed comment survives a reload until the vote is sent.
    phone.get_by_label("Why?").fill("Care first, then the truth.")
    phone.reload()
    expect(phone.get_by_label("Why?")).to_have_value("Care first, then the truth.")
    phone.get_by_role("button", name="No", exact=True).click()

    expect(phone.locator("#mg-progress-text")).to_have_text("Pair 2 of 2")
    vote = Vote.objects.get(voter=bob)
    assert (vote.choice, vote.comment) == ("not_wiser", "Care first, then the truth.")
    assert (vote.page_version, vote.yes_first) == (PAGE_VERSION, False)
    expect(phone.locator("#mg-howto")).not_to_have_attribute("open", "")  # out of the way now
    expect(phone.get_by_label("Why?")).to_have_value("")  # the sent comment is not put back
    phone.reload()
    expect(phone.get_by_label("Why?")).to_have_value("")

    # Back to the study and forward again: the page comes from the server, not a stale copy.
    phone.go_back()
    phone.go_forward()
    expect(phone.locator("#mg-progress-text")).to_have_text("Pair 2 of 2")
    phone.locator("body").press("y")
    expect(phone.get_by_role("heading", name="Thank you, that's all the pairs")).to_be_visible()
    screenshot(phone, "vote-done-phone")
    assert Vote.objects.filter(voter=bob, yes_first=False, page_version=PAGE_VERSION).count() == 2
    assert problems == []


def test_the_page_is_never_served_from_the_browser_cache(client):
    voting_study(None)
    bob = UserFactory(username="bob")
    client.force_login(bob)

    response = client.get("/moralgraph/mg/vote/")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("answer_order", [None, "yes_first"])
def test_on_a_desktop_the_order_shown_is_the_order_recorded(
    live_server, desktop, screenshot, answer_order
):
    study = voting_study(answer_order)
    rita = UserFactory(username="rita")
    Participation.objects.create(study=study, user=rita)
    problems = watch(desktop)
    sign_in(desktop, live_server.url, "rita")
    desktop.goto(f"{live_server.url}/study/mg-study/")
    desktop.get_by_role("link", name="Start").click()

    answers = desktop.locator(".mg-choices button")
    expect(answers).to_have_count(3)
    shown = answers.all_text_contents()
    if answer_order == "yes_first":
        assert shown == ["Yes", "No", "Not sure"]
    assert sorted(shown[:2]) == ["No", "Yes"] and shown[2] == "Not sure"
    assert len(set(looks(answers))) == 1
    # The keys are said on the page, in the order the buttons show.
    expect(desktop.locator(".mg-keys")).to_contain_text(f"{shown[0][0]} {shown[0].lower()}")
    screenshot(desktop, f"vote-pair-desktop-{answer_order or 'random'}")
    desktop.locator("body").press("u")

    expect(desktop.locator("#mg-progress-text")).to_have_text("Pair 2 of 2")
    vote = Vote.objects.get(voter=rita)
    assert vote.choice == "unsure" and vote.page_version == PAGE_VERSION
    assert vote.yes_first is (shown[0] == "Yes")
    assert problems == []
