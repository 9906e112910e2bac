"""A researcher previews each task of a study on a phone, as a participant would see it; what
they answer there is never stored. Screenshots: test-results/study-preview-*.png."""

import pytest
from playwright.sync_api import expect

from moralgraph.models import Vote
from tests.browser.conftest import PHONE
from tests.browser.pages import watch
from tests.browser.steps import sign_in
from tests.core.test_study_preview import BANNER, nothing_stored
from tests.core.test_study_preview import study as previewed  # noqa: F401  (a fixture)
from tests.training.test_targets import pvq_items  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_researcher_previews_every_task_on_a_phone_and_nothing_is_stored(
    live_server,
    browser,
    screenshot,
    previewed,  # noqa: F811
):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    problems = watch(page)
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/researcher/studies/previewed/")
    screenshot(page, "study-preview-researcher-study")

    # Nobody has joined yet: the researcher asks for fewer pairs on the Edit-tasks page.
    page.get_by_role("link", name="Edit tasks").click()
    voting = page.locator("fieldset[data-kind='moralgraph.vote']")
    expect(voting.get_by_role("checkbox")).to_be_checked()
    expect(voting.get_by_label("Pairs per participant")).to_have_value("3")
    voting.get_by_label("Pairs per participant").fill("1")
    screenshot(page, "study-preview-edit-tasks")
    page.get_by_role("button", name="Save tasks").click()
    expect(page.get_by_text("The tasks of “Previewed” were saved.")).to_be_visible()
    assert previewed.tasks.get(kind="moralgraph.vote").config["votes"] == 1

    links = page.locator("a.preview-link")
    expect(links).to_have_count(5)
    hrefs = [links.nth(n).get_attribute("href") for n in range(5)]

    for href, name in zip(hrefs, ["consent", "interview", "label", "vote", "pvq"], strict=True):
        page.goto(f"{live_server.url}{href}")
        expect(page.get_by_text(BANNER)).to_be_visible()
        screenshot(page, f"study-preview-{name}")

    page.goto(f"{live_server.url}{hrefs[3]}")
    expect(page.locator("#mg-progress-text")).to_have_text("Pair 1 of 1")
    page.get_by_role("button", name="Yes", exact=True).click()
    expect(page.get_by_text("Preview: your answer was checked and not stored")).to_be_visible()
    screenshot(page, "study-preview-vote-answered")

    page.goto(f"{live_server.url}{hrefs[2]}")
    page.locator("#label-form .dim").first.locator("label.opt", has_text="upholds").click()
    page.get_by_role("button", name="Submit & next").click()
    expect(page.get_by_text("Preview: these labels were not stored")).to_be_visible()
    screenshot(page, "study-preview-label-answered")

    assert problems == [], "\n".join(problems)
    assert not Vote.objects.exists()
    nothing_stored()
    context.close()
