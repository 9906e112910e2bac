"""A researcher uploads a file of items on the project page and watches the import finish."""

import json

import pytest
from playwright.sync_api import expect

from annotation.models import Item
from core.models import Job
from tests.annotation.factories import ProjectFactory
from tests.browser.steps import sign_in
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("schwartz10"),
]


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.fixture
def researcher(db):
    return UserFactory(username="rita", role="researcher")


def items_file(count: int, *extra: dict) -> bytes:
    records = [
        {"id": f"r{n}", "prompt": f"Question {n}?", "response": "An answer."} for n in range(count)
    ]
    return "".join(json.dumps(r) + "\n" for r in [*records, *extra]).encode()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_researcher_uploads_items_and_sees_the_progress_panel_reach_the_report(
    live_server, request, screenshot, researcher, eager_jobs, viewport
):
    page = request.getfixturevalue(viewport)
    project = ProjectFactory(name="Advice answers", slug="advice")
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/annotation/projects/advice/")
    page.wait_for_load_state("networkidle")  # htmx has wired the form

    page.get_by_label("File").set_input_files(
        {"name": "items.jsonl", "mimeType": "application/json", "buffer": items_file(1200)}
    )
    page.get_by_role("button", name="Import").click()

    report = page.locator("#import-report")
    expect(report).to_contain_text("Stored 1200, already there 0, skipped 0.", timeout=30_000)
    expect(page.locator("#import-panel")).to_contain_text("Succeeded")
    # The upload bar was driven by htmx's upload events, and the form is ready for another file.
    assert page.locator("#upload-progress").count() == 1
    assert page.url.endswith("/annotation/projects/advice/")  # no page load: htmx swapped it
    assert Item.objects.filter(project=project).count() == 1200
    assert Job.objects.filter(kind="annotation.import_items").count() == 1
    screenshot(page, f"annotation-import-{viewport}")
    if viewport == "phone":
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 400, "the project page must not scroll sideways on a phone"

    # A second file with a bad line: nothing stored, the line named, as text.
    bad = {"prompt": "P", "response": "R", "labels": {"<b>x</b>": 1}}
    page.get_by_label("File").set_input_files(
        {"name": "more.jsonl", "mimeType": "application/json", "buffer": items_file(3, bad)}
    )
    page.get_by_role("button", name="Import").click()
    expect(report).to_contain_text("Nothing was stored.", timeout=30_000)
    expect(report).to_contain_text("line 4: labels.<b>x</b>")
    assert Item.objects.filter(project=project).count() == 1200
    assert Job.objects.filter(kind="annotation.import_items").count() == 2
    screenshot(page, f"annotation-import-rejected-{viewport}")


def test_the_upload_progress_bar_follows_the_upload(live_server, desktop, researcher, eager_jobs):
    ProjectFactory(name="Advice answers", slug="advice")
    sign_in(desktop, live_server.url)
    desktop.goto(f"{live_server.url}/annotation/projects/advice/")
    desktop.wait_for_load_state("networkidle")
    # Record every value the upload bar takes while a 2 MB file is sent.
    desktop.evaluate(
        """() => { window.uploadValues = [];
            document.addEventListener('htmx:xhr:progress', () => {
              const bar = document.getElementById('upload-progress');
              if (bar) window.uploadValues.push(bar.value);
            }); }"""
    )
    content = items_file(20_000)
    desktop.get_by_label("File").set_input_files(
        {"name": "big.jsonl", "mimeType": "application/json", "buffer": content}
    )
    desktop.get_by_role("button", name="Import").click()

    expect(desktop.locator("#import-report")).to_contain_text("Stored 20000", timeout=60_000)
    values = desktop.evaluate("() => window.uploadValues")
    assert values and max(values) == 100
