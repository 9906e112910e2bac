"""A researcher looks over a project's workers and excludes one, confirming in the dialog."""

import pytest
from playwright.sync_api import expect

from annotation.assignment import item_next_for_worker, slots_ensure
from annotation.models import Slot, WorkerStatus
from annotation.services import annotation_submit
from tests.annotation.factories import ItemFactory, ProjectFactory, labels
from tests.browser.steps import sign_in
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("schwartz10"),
]


@pytest.fixture
def researcher(db):
    return UserFactory(username="rita", role="researcher")


@pytest.fixture
def worker(db):
    return UserFactory(username="worker0", pseudonym="p-<b>bold</b>")


@pytest.fixture
def project(worker):
    """Three items, one annotation each, all labelled by one worker, too fast (warned)."""
    project = ProjectFactory(
        name="Advice answers", slug="advice", overlap=1, blind_share=0, gold_rate=0
    )
    for n in range(3):
        ItemFactory(project=project, external_id=f"a{n}")
    slots_ensure(project=project)
    for _ in range(3):
        slot = item_next_for_worker(project=project, worker=worker).slot
        annotation_submit(worker=worker, item=slot.item, labels=labels(power=1), seconds=2)
    return project


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_researcher_excludes_a_worker_after_confirming_and_the_row_says_so(
    live_server, request, screenshot, researcher, project, worker, viewport
):
    page = request.getfixturevalue(viewport)
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/annotation/projects/advice/")
    page.get_by_role("link", name="Workers: standing, exclude").click()
    page.wait_for_load_state("networkidle")  # htmx has wired the buttons

    row = page.locator("#workers-table tbody tr").first
    expect(row).to_contain_text("p-<b>bold</b>")  # the pseudonym shown as text
    expect(row).to_contain_text("warned")
    expect(row).to_contain_text("Too fast: 3")
    assert page.locator("#workers-table b").count() == 0

    # Cancelling the dialog changes nothing.
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name="Exclude").click()
    page.wait_for_load_state("networkidle")
    expect(row).to_contain_text("warned")
    assert WorkerStatus.objects.get(worker=worker).state == "warned"

    messages = []

    def accept(dialog):
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    row.get_by_role("button", name="Exclude").click()

    row = page.locator("#workers-table tbody tr").first
    expect(row).to_contain_text("Excluded: 3 slots re-opened.")
    expect(row).to_contain_text("excluded")
    expect(row.get_by_role("button", name="Exclude")).to_have_count(0)
    assert messages and messages[0].startswith("Exclude p-<b>bold</b>?")
    assert page.url.endswith("/annotation/projects/advice/workers/")  # swapped, no page load
    assert WorkerStatus.objects.get(worker=worker).state == "excluded"
    assert Slot.objects.filter(project=project, state="free", worker=None).count() == 3
    screenshot(page, f"annotation-workers-{viewport}")
    if viewport == "phone":
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 400, "the workers page must not scroll sideways on a phone"
