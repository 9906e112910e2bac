"""The project page's item counts follow an import in the browser, without a reload."""

import json

import pytest
from playwright.sync_api import expect

from tests.annotation.factories import ItemFactory, ProjectFactory
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


def test_the_item_counts_refresh_when_the_import_finishes(
    live_server, desktop, researcher, eager_jobs
):
    project = ProjectFactory(name="Advice answers", slug="advice")
    ItemFactory(project=project, external_id="old")
    sign_in(desktop, live_server.url)
    desktop.goto(f"{live_server.url}/annotation/projects/advice/")
    desktop.wait_for_load_state("networkidle")  # htmx has wired the form
    counts = desktop.locator("#item-counts")
    expect(counts).to_contain_text("1 item (")

    content = "".join(
        json.dumps({"id": f"r{n}", "prompt": f"Question {n}?", "response": "Yes."}) + "\n"
        for n in range(7)
    ).encode()
    desktop.get_by_label("File").set_input_files(
        {"name": "items.jsonl", "mimeType": "application/json", "buffer": content}
    )
    desktop.get_by_role("button", name="Import").click()

    expect(desktop.locator("#import-report")).to_contain_text("Stored 7", timeout=30_000)
    expect(counts).to_contain_text("8 items (")
    assert desktop.locator("#item-counts").count() == 1
    assert desktop.url.endswith("/annotation/projects/advice/")  # no reload
