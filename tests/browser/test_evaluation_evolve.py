"""A researcher watches an evolve job's progress on the evolve page and cancels it there."""

import pytest
from playwright.sync_api import expect

from core.models import User
from tests.annotation.factories import ItemFactory, ProjectFactory
from tests.browser.steps import sign_in
from tests.evaluation.factories import running_evolve_job
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_researcher_cancels_a_running_evolve_job_from_the_evolve_page(
    live_server, desktop, screenshot, schwartz10
):
    rita = UserFactory(username="rita", role=User.Role.RESEARCHER)
    job = running_evolve_job(rita, "Round 2: scored 64 of 90 of careful's answers.")
    project = ProjectFactory(slug="dilemmas", name="Dilemmas")
    ItemFactory(project=project, external_id="d1", prompt="Should I lend money?")
    sign_in(desktop, live_server.url, "rita")

    desktop.goto(f"{live_server.url}/evaluation/evolve/")
    jobs = desktop.locator("#evolve-jobs")
    expect(jobs).to_contain_text("scored 64 of 90 of careful's answers")
    expect(jobs).to_contain_text("1 of 3 rounds done")
    screenshot(desktop, "evaluation-evolve-running")
    jobs.get_by_role("button", name="Cancel").click()
    expect(desktop.locator("body")).to_contain_text("Asked the job to stop")
    job.refresh_from_db()
    assert job.cancel_requested

    desktop.goto(f"{live_server.url}/evaluation/")
    desktop.get_by_label("Project").select_option(label="Dilemmas")
    desktop.get_by_role("button", name="Take its prompts").click()
    expect(desktop.locator("body")).to_contain_text("Pool “dilemmas v1” has 1 prompt.")
    screenshot(desktop, "evaluation-home-project-pool")
