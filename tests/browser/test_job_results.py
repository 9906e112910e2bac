"""A researcher reads finished jobs' results as tables (no dict, no server path): screenshots."""

import pytest
from playwright.sync_api import expect

from core.models import Job, User
from tests.browser.steps import sign_in
from tests.core.test_job_results import RESULTS
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_finished_jobs_read_as_tables(live_server, desktop, screenshot, settings):
    rita = UserFactory(username="rita", role=User.Role.RESEARCHER)
    sign_in(desktop, live_server.url, "rita")
    for kind, page_url in (
        ("training.export_dpo", "/training/runs/{}/"),
        ("training.train_evaluator", "/training/runs/{}/"),
        ("annotation.import_items", "/jobs/{}/"),
    ):
        job = Job.objects.create(
            kind=kind, status=Job.Status.SUCCEEDED, result=RESULTS[kind], created_by=rita
        )
        desktop.goto(live_server.url + page_url.format(job.pk))
        expect(desktop.locator("table.job-result").first).to_be_visible()
        text = desktop.locator("body").inner_text()
        assert "{'" not in text and str(settings.VAR_DIR) not in text and "/srv/" not in text
        screenshot(desktop, f"job-result-{kind.replace('.', '-')}")
