"""The labelling page with a scheme of 19 values (Schwartz's refined theory): every value has a
key said on the page, a chosen answer looks the same whichever it is, unsaved answers survive a
reload, and each annotation records the page version it was given on."""

import pytest
from playwright.sync_api import expect

from annotation.assignment import slots_ensure
from annotation.label_page import PAGE_VERSION
from annotation.models import Annotation
from core.models import Participation, ValueDimension, ValueScheme
from tests.annotation.factories import ItemFactory, ProjectFactory
from tests.browser.pages import looks, watch
from tests.browser.steps import sign_in
from tests.factories import StudyFactory, StudyTaskFactory, UserFactory

# Not serialized_rollback: after a flushing test it fails restoring content types; the
# factories seed the Schwartz-10 scheme again where a flush wiped it.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REFINED = [
    "self_direction_thought", "self_direction_action", "stimulation", "hedonism", "achievement",
    "power_dominance", "power_resources", "face", "security_personal", "security_societal",
    "tradition", "conformity_rules", "conformity_interpersonal", "humility",
    "benevolence_dependability", "benevolence_caring", "universalism_concern",
    "universalism_nature", "universalism_tolerance",
]  # fmt: skip


@pytest.fixture
def refined_project(db):
    scheme = ValueScheme.objects.create(key="schwartz19", name="Schwartz refined (19)")
    for position, key in enumerate(REFINED):
        ValueDimension.objects.create(
            scheme=scheme,
            key=key,
            name=key.replace("_", " ").capitalize(),
            definition=f"What {key} means.",
            position=position,
        )
    study = StudyFactory(slug="refined", title="Label with 19 values")
    project = ProjectFactory(
        name="Refined values",
        scheme=scheme,
        study=study,
        overlap=1,
        quota_per_worker=2,
        blind_share=0,
        gold_rate=0,
        min_seconds=0,
        lease_seconds=120,
    )
    ItemFactory(project=project, prompt="Should I recycle?", response="Yes, sort your waste.")
    ItemFactory(project=project, prompt="Can I skip the queue?", response="Only if you ask.")
    slots_ensure(project=project)
    StudyTaskFactory(
        study=study, kind="annotation.label", title="Label answers", config={"project": project.pk}
    )
    worker = UserFactory(username="wanda")
    Participation.objects.create(study=study, user=worker)
    return project, worker


def test_every_value_has_a_key_and_answers_survive_a_reload(
    live_server, desktop, screenshot, refined_project
):
    project, worker = refined_project
    problems = watch(desktop)
    sign_in(desktop, live_server.url, "wanda")
    desktop.goto(f"{live_server.url}/annotation/work/{project.pk}/")

    # Instructions with one example come before the first item.
    expect(desktop.locator("#howto")).to_contain_text("Example")
    # The page says the keys: 1-9, then a-j for the 19 values; each row shows its own.
    expect(desktop.locator(".keys-help")).to_contain_text("1–9")
    expect(desktop.locator(".keys-help")).to_contain_text("a–j")
    rows = desktop.locator("fieldset.dim")
    expect(rows).to_have_count(19)
    expect(rows.nth(9).locator(".hotkey")).to_have_text("a")
    expect(rows.nth(18).locator(".hotkey")).to_have_text("j")

    desktop.keyboard.press("j")  # universalism_tolerance, the 19th value
    desktop.keyboard.press("+")
    desktop.keyboard.press("a")  # security_societal, the 10th
    desktop.keyboard.press("-")
    desktop.keyboard.press("3")
    desktop.keyboard.press("ArrowRight")
    tolerance = desktop.locator("fieldset.dim[data-key=universalism_tolerance]")
    expect(tolerance.locator("input[value='1']")).to_be_checked()
    expect(desktop.locator("fieldset.dim.active")).to_have_attribute("data-key", "stimulation")

    # Every chosen answer looks the same, whichever it is.
    chosen = desktop.locator(".opt input:checked + span")
    styles = {row[:6] for row in looks(chosen)}  # colours, border, weight, size (not width)
    assert len(styles) == 1, styles
    assert chosen.filter(has_text="+1").count() == 2 and chosen.filter(has_text="−1").count() == 1
    screenshot(desktop, "annotate-19-values-desktop")

    # A reload (or a crash) keeps what was chosen.
    desktop.reload()
    expect(tolerance.locator("input[value='1']")).to_be_checked()
    societal = desktop.locator("fieldset.dim[data-key=security_societal]")
    expect(societal.locator("input[value='-1']")).to_be_checked()
    desktop.keyboard.press("Enter")

    expect(desktop.locator(".progress-text")).to_have_text("1 of 2 done")
    annotation = Annotation.objects.get(annotator=worker)
    assert annotation.page_version == PAGE_VERSION
    assert {key: v for key, v in annotation.labels.items() if v} == {
        "universalism_tolerance": 1,
        "security_societal": -1,
        "stimulation": 1,
    }
    expect(desktop.locator("#howto")).to_have_count(0)
    # The submitted item's answers are gone from the browser; the new item starts clean.
    kept = desktop.evaluate("Object.keys(localStorage).filter(k => k.startsWith('valuelab:'))")
    assert kept == []
    desktop.reload()
    expect(desktop.locator("fieldset.dim .opt input[value='0']:checked")).to_have_count(19)
    assert problems == []


def test_a_leased_item_is_never_served_from_the_browser_cache(client, refined_project):
    project, worker = refined_project
    client.force_login(worker)

    response = client.get(f"/annotation/work/{project.pk}/")

    assert response.status_code == 200 and b"label-form" in response.content
    assert "no-store" in response["Cache-Control"]
