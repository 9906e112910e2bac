"""A crowdworker visits every participant page on a phone: no console error, no 404, nothing
below the fold that a returning participant needs first. A screenshot of each page is saved
under test-results/tour-*.png for a person to look at."""

import pytest
from playwright.sync_api import expect

from annotation.assignment import slots_ensure
from annotation.models import WorkerStatus
from core.models import Participation
from elicitation.models import Chat
from moralgraph.study_tasks import KIND as VOTE_KIND
from tests.annotation.factories import ItemFactory, ProjectFactory
from tests.browser.pages import in_first_screen, watch
from tests.elicitation.interview_script import script_interview
from tests.factories import StudyFactory, StudyTaskFactory
from tests.moralgraph.conftest import World, make_voter
from training import pvq

# Not serialized_rollback: after a flushing test it fails restoring content types; the
# factories seed the Schwartz-10 scheme again where a flush wiped it.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PID = "5f0c8a1b2c3d4e5f607182aa"


@pytest.fixture
def pvq_items(settings, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text(
        "questionnaire,item,value,agreement\n"
        + "\n".join(f"PVQ40,Portrait {n}.,{pvq.VALUE_OF_ITEM[n]},1" for n in range(1, 41))
    )
    settings.TRAINING_PVQ40_ITEMS = str(path)


@pytest.fixture
def everything(db, llm_double, pvq_items):
    """A study with every kind of participant task, and what each task needs."""
    world = World(make_voter("author"))
    world.story(world.distress, world.b, world.c, text="I used to think honesty was enough...")
    world.story(world.deciding, world.d, world.e, text="I used to lay out every option...")
    study = StudyFactory(slug="tour", title="Values tour", completion_code="TOUR1")
    StudyTaskFactory(study=study, title="Consent", instructions="Answers stay pseudonymous.")
    project = ProjectFactory(
        name="Tour labelling", study=study, overlap=1, quota_per_worker=2, blind_share=0,
        gold_rate=0, min_seconds=0, lease_seconds=60,
    )  # fmt: skip
    ItemFactory(project=project, prompt="Should I recycle?", response="Yes, sort it.")
    ItemFactory(project=project, prompt="Can I skip the queue?", response="Ask first.")
    slots_ensure(project=project)
    StudyTaskFactory(
        study=study, kind="annotation.label", title="Label", config={"project": project.pk}
    )
    vote_task = StudyTaskFactory(
        study=study, kind=VOTE_KIND, title="Judge", config={"deliberation": "mg", "votes": 1}
    )
    # Last: a study sends its participant through the tasks in order.
    StudyTaskFactory(study=study, kind="elicitation", title="Talk", config={"deliberation": "mg"})
    script_interview(llm_double)
    return study, project, vote_task


def test_every_participant_page_on_a_phone(live_server, phone, screenshot, everything):
    study, project, vote_task = everything
    problems = watch(phone)
    base = live_server.url

    def shot(name: str) -> None:
        screenshot(phone, f"tour-{name}")

    phone.goto(f"{base}/join/tour/?PROLIFIC_PID={PID}&STUDY_ID=s&SESSION_ID=x")
    expect(phone.get_by_role("heading", name="Values tour")).to_be_visible()
    assert in_first_screen(phone, phone.locator(".tasks"))
    shot("01-study")
    phone.get_by_role("link", name="Start").click()
    expect(phone.get_by_text("Answers stay pseudonymous.")).to_be_visible()
    shot("02-consent")
    phone.get_by_role("checkbox").check()
    phone.get_by_role("button", name="Continue").click()
    worker = Participation.objects.get(user__prolific_pid=PID).user

    # Labelling: an item, stop for now, continue, the last item, all done.
    phone.goto(f"{base}/annotation/work/{project.pk}/")
    expect(phone.locator("#label-form")).to_be_visible()
    shot("06-label-item")
    phone.get_by_role("button", name="Stop for now").click()
    expect(phone.get_by_role("heading", name="Paused")).to_be_visible()
    shot("07-label-paused")
    phone.get_by_role("button", name="Continue labelling").click()
    expect(phone.locator("#label-form")).to_be_visible()
    phone.get_by_role("button", name="Submit & next").click()
    expect(phone.locator(".progress-text")).to_have_text("1 of 2 done")
    # A worker warned once for rushing finishes: the warning does not follow them to the end.
    WorkerStatus.objects.filter(project=project, worker=worker).update(state="warned")
    phone.reload()
    expect(phone.locator(".banner.warn").first).to_be_visible()
    phone.get_by_role("button", name="Submit & next").click()
    expect(phone.get_by_role("heading", name="All done — thank you!")).to_be_visible()
    expect(phone.locator(".banner.warn:visible")).to_have_count(0)
    shot("08-label-done")

    # Voting: a pair, then done; and where the participant's values ended up.
    phone.goto(f"{base}/moralgraph/mg/vote/?task={vote_task.pk}")
    expect(phone.locator(".mg-choices button")).to_have_count(3)
    shot("09-vote-pair")
    phone.get_by_role("button", name="Not sure").click()
    expect(phone.get_by_role("heading", name="Thank you, that's all the pairs")).to_be_visible()
    shot("10-vote-done")
    phone.get_by_role("link", name="See where your values ended up").click()
    expect(phone.locator("main h1")).to_be_visible()
    shot("11-mine")

    # The PVQ-40.
    phone.goto(f"{base}/training/pvq/")
    expect(phone.locator("#item-1")).to_be_visible()
    shot("12-pvq")
    phone.locator("#item-1 input[value='4']").check()  # answers given so far survive a reload
    phone.reload()
    expect(phone.locator("#item-1 input[value='4']")).to_be_checked()

    # The interview: the questions, a chat, and back: "Your conversations" comes first.
    phone.goto(f"{base}/elicitation/?deliberation=mg")
    shot("03-scenarios")
    phone.get_by_role("button", name="Talk about this").first.click()
    expect(phone.locator(".bubble-assistant").first).to_be_visible()
    shot("04-chat")
    phone.goto(f"{base}/elicitation/?deliberation=mg")
    conversations = phone.locator("#your-conversations")
    expect(conversations).to_be_visible()
    assert in_first_screen(phone, conversations.get_by_role("link").first)
    assert Chat.objects.filter(participant=worker).count() == 1
    shot("05-scenarios-returning")

    phone.goto(f"{base}/study/tour/")
    shot("13-study-again")
    assert in_first_screen(phone, phone.locator(".tasks"))

    favicon = phone.request.get(f"{base}/favicon.ico")
    assert favicon.ok and favicon.headers["content-type"].startswith("image/")
    assert problems == [], "\n".join(problems)
