"""A Prolific crowdworker labels AI answers on a phone, with the keyboard, in a real browser."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from annotation.assignment import slots_ensure
from annotation.models import Annotation, Item, Prelabel, Slot
from core.models import Participation
from tests.annotation.factories import ItemFactory, ProjectFactory, labels
from tests.factories import StudyFactory, StudyTaskFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PID = "5f0c8a1b2c3d4e5f60718299"
LONG_ANSWER = "\n\n".join(
    [
        "Here is what I would do, **step by step**:",
        "1. Talk to your neighbour first.\n2. Offer to help with the fence.\n3. Keep it friendly.",
        *[f"Paragraph {n}: being considerate of others usually pays off." for n in range(12)],
    ]
)


@pytest.fixture
def study_with_project(db):
    study = StudyFactory(slug="label-values", title="Label AI answers", completion_code="LBL2026")
    project = ProjectFactory(
        name="Neighbour advice",
        study=study,
        overlap=1,
        quota_per_worker=2,
        blind_share=0,
        gold_rate=0,
        min_seconds=0,
        lease_seconds=15,
        instructions="Label **every** value. Most answers touch only one or two.",
        text_format="markdown",  # its answers are markdown, rendered for annotators
    )
    ItemFactory(
        project=project,
        kind="training",
        prompt="Practice: should I return a lost wallet?",
        response="Yes, return it to its owner.",
        reference_labels=labels(benevolence=1, conformity=1),
    )
    first = ItemFactory(
        project=project,
        prompt="My neighbour's fence is broken. What should I do?",
        response=LONG_ANSWER,
    )
    ItemFactory(project=project, prompt="Should I take the job abroad?", response="Go for it.")
    Prelabel.objects.create(
        item=first,
        labels=labels(benevolence=1),
        rationales={"benevolence": "The answer suggests helping the neighbour."},
        model="test-model",
        prompt_version="v1",
    )
    slots_ensure(project=project)
    StudyTaskFactory(
        study=study, kind="annotation.label", title="Label answers", config={"project": project.pk}
    )
    return study, project


def test_a_prolific_worker_labels_with_the_keyboard_on_a_phone_and_gets_the_code(
    live_server, phone, screenshot, study_with_project
):
    study, project = study_with_project
    phone.goto(f"{live_server.url}/join/label-values/?PROLIFIC_PID={PID}&STUDY_ID=s&SESSION_ID=x")
    phone.get_by_role("link", name="Start").click()

    # Practice first: label benevolence +1 only, then see the reference.
    expect(phone.get_by_text("Practice item")).to_be_visible()
    screenshot(phone, "annotate-training-phone")
    phone.evaluate("window.__stayed = true")  # gone if the page fully reloads
    phone.keyboard.press("9")  # benevolence
    phone.keyboard.press("+")
    phone.keyboard.press("Enter")
    expect(phone.get_by_role("heading", name="Practice: how you did")).to_be_visible()
    expect(phone.locator(".feedback-list li.miss")).to_have_count(1)  # conformity was +1
    screenshot(phone, "annotate-feedback-phone")
    phone.keyboard.press("Enter")

    # The real item: the pre-label is filled in, its reason and the definitions are one tap away.
    expect(phone.get_by_text("My neighbour's fence is broken")).to_be_visible()
    benevolence = phone.locator("fieldset.dim[data-key=benevolence]")
    expect(benevolence.locator("input[value='1']")).to_be_checked()
    benevolence.get_by_role("button", name="AI's reason").tap()
    expect(phone.get_by_text("The answer suggests helping the neighbour.")).to_be_visible()
    phone.locator("fieldset.dim[data-key=power] button.info").tap()
    expect(phone.locator("#def-power")).to_be_visible()
    expect(phone.locator(".response strong", has_text="step by step")).to_be_visible()
    screenshot(phone, "annotate-item-phone")
    phone.keyboard.press("5")  # power
    phone.keyboard.press("ArrowLeft")  # 0 → -1
    phone.keyboard.press("Enter")

    expect(phone.get_by_text("Should I take the job abroad?")).to_be_visible()
    expect(phone.locator(".progress-text")).to_have_text("1 of 2 done")
    phone.keyboard.press("1")  # self-direction
    phone.keyboard.press("+")
    phone.keyboard.press("2")  # stimulation
    phone.keyboard.press("ArrowRight")
    phone.keyboard.press("Enter")

    expect(phone.get_by_role("heading", name="All done — thank you!")).to_be_visible()
    assert phone.evaluate("window.__stayed") is True
    screenshot(phone, "annotate-done-phone")
    phone.get_by_role("link", name="Back to the study (your completion code)").click()
    expect(phone.locator("#completion-code")).to_have_text("LBL2026")

    worker = Participation.objects.get(user__prolific_pid=PID).user
    fence = Annotation.objects.get(annotator=worker, item__prompt__startswith="My neighbour")
    assert fence.labels == labels(benevolence=1, power=-1)
    assert fence.saw_prelabel and fence.prelabel_kept["benevolence"] is True
    assert fence.prelabel_kept["power"] is False
    abroad = Annotation.objects.get(annotator=worker, item__prompt__startswith="Should I")
    assert abroad.labels == labels(self_direction=1, stimulation=1)
    assert abroad.seconds > 0
    training = Item.objects.get(kind="training")
    assert Annotation.objects.get(item=training).labels == labels(benevolence=1)


def test_the_labelling_page_on_a_desktop(live_server, desktop, screenshot, study_with_project):
    study, project = study_with_project
    desktop.goto(f"{live_server.url}/join/label-values/?PROLIFIC_PID={PID}")
    desktop.goto(f"{live_server.url}/annotation/work/{project.pk}/")
    desktop.keyboard.press("Enter")  # submit the practice item as it is
    expect(desktop.get_by_role("heading", name="Practice: how you did")).to_be_visible()
    desktop.keyboard.press("Enter")  # continue

    expect(desktop.get_by_text("My neighbour's fence is broken")).to_be_visible()
    desktop.keyboard.press("3")
    expect(desktop.locator("fieldset.dim.active")).to_have_attribute("data-key", "hedonism")
    screenshot(desktop, "annotate-item-desktop")

    # While the page is open its heartbeat keeps the lease (15 s here, a beat every 5 s).
    slot = Slot.objects.get(state="leased")
    Slot.objects.filter(pk=slot.pk).update(lease_expires=timezone.now() + timedelta(seconds=2))
    desktop.wait_for_timeout(6500)
    assert Slot.objects.get(pk=slot.pk).lease_expires > timezone.now() + timedelta(seconds=8)
