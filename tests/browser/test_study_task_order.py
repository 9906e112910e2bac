"""Tasks are put in order with "Move up" / "Move down" on the New-study and edit pages, by
keyboard; the saved study has them in that order (the order numbers follow the buttons)."""

import pytest
from playwright.sync_api import expect

from core.models import Study
from tests.annotation.factories import ProjectFactory
from tests.browser.steps import sign_in
from tests.elicitation.factories import DeliberationFactory
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def kinds(slug: str) -> list[str]:
    return list(Study.objects.get(slug=slug).tasks.values_list("kind", flat=True))


def test_a_task_moved_up_by_keyboard_is_saved_in_that_place(
    live_server, desktop, screenshot, schwartz10
):
    UserFactory(username="rita", role="researcher")
    project = ProjectFactory(name="Chatbot answers", quota_per_worker=5)
    DeliberationFactory(name="friends")
    page, base = desktop, live_server.url
    sign_in(page, base)
    page.goto(f"{base}/researcher/studies/new/")
    page.get_by_label("Title:", exact=True).fill("Ordered by buttons")
    page.get_by_label("Completion code").fill("ORDER1")

    def task(kind: str):
        return page.locator(f"fieldset[data-kind='{kind}']")

    task("elicitation").get_by_role("checkbox").check()
    task("elicitation").get_by_label("Deliberation to interview about").select_option("friends")
    labelling = task("annotation.label")
    labelling.get_by_role("checkbox").check()
    labelling.get_by_label("Project to label").select_option(str(project.pk))
    labelling.get_by_label("Items per participant").fill("2")
    shown = page.locator("#task-list > fieldset")
    expect(shown.nth(0)).to_have_attribute("data-kind", "consent")
    expect(shown.nth(1)).to_have_attribute("data-kind", "elicitation")
    expect(shown.nth(2)).to_have_attribute("data-kind", "annotation.label")

    # Up twice, from the keyboard: labelling first, consent second.
    up = labelling.get_by_role("button", name="Move up: Label AI answers on values")
    up.focus()
    page.keyboard.press("Enter")
    expect(up).to_be_focused()
    page.keyboard.press("Enter")
    expect(shown.nth(0)).to_have_attribute("data-kind", "annotation.label")
    expect(up).to_be_disabled()  # it is first: focus went to its "Move down"
    expect(
        labelling.get_by_role("button", name="Move down: Label AI answers on values")
    ).to_be_focused()
    expect(page.locator("#task-order-status")).to_have_text(
        "Label AI answers on values: now 1 of " + str(shown.count()) + "."
    )
    expect(labelling.get_by_label("Order")).to_have_value("1")
    expect(task("consent").get_by_label("Order")).to_have_value("2")
    screenshot(page, "study-task-order-moved")
    page.get_by_role("button", name="Create study").click()

    expect(page.get_by_role("heading", name="Ordered by buttons")).to_be_visible()
    assert kinds("ordered-by-buttons") == ["annotation.label", "consent", "elicitation"]
    assert Study.objects.get(slug="ordered-by-buttons").tasks.get(
        kind="annotation.label"
    ).config == {"project": project.pk, "items_per_participant": 2}

    # The edit page lists them as saved; moving the interview up once swaps it with consent.
    page.goto(f"{base}/researcher/studies/ordered-by-buttons/edit/")
    expect(shown.nth(0)).to_have_attribute("data-kind", "annotation.label")
    expect(shown.nth(2)).to_have_attribute("data-kind", "elicitation")
    task("elicitation").get_by_role(
        "button", name="Move up: Interview: write a values card"
    ).click()
    page.get_by_role("button", name="Save tasks").click()

    expect(page.get_by_role("heading", name="Ordered by buttons")).to_be_visible()
    assert kinds("ordered-by-buttons") == ["annotation.label", "elicitation", "consent"]
