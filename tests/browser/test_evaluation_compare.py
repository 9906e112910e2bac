"""A researcher picks two finished runs and sees their profiles side by side."""

import pytest
from playwright.sync_api import expect

from core.models import User
from tests.browser.steps import sign_in
from tests.evaluation.factories import done_run
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_researcher_compares_two_subjects_profiles(live_server, desktop, screenshot):
    UserFactory(username="rita", role=User.Role.RESEARCHER)
    careful = done_run("careful-model", 0.8)
    done_run("reckless-model", -0.6, pool=careful.pool)
    broken = []  # scripts and styles the page could not load (the favicon is not ours)
    desktop.on(
        "response",
        lambda r: r.status >= 400 and "favicon" not in r.url and broken.append(r.url),
    )
    sign_in(desktop, live_server.url, "rita")
    desktop.goto(f"{live_server.url}/evaluation/compare/")

    desktop.get_by_label("careful-model", exact=False).check()
    desktop.get_by_label("reckless-model", exact=False).check()
    desktop.get_by_role("button", name="Compare").click()

    table = desktop.locator("#compare-table")
    expect(table.locator("thead")).to_contain_text("careful-model")
    expect(table.locator("thead")).to_contain_text("reckless-model")
    expect(table.locator("thead")).to_contain_text("n=8")
    security = table.locator("tbody tr").filter(has_text="security")
    expect(security).to_contain_text("0.800")
    expect(security).to_contain_text("-0.600")
    desktop.wait_for_function(
        "() => !!document.querySelector('canvas[data-chart=\"compare-chart\"]')._chart"
    )
    datasets = desktop.evaluate(
        "() => document.querySelector('canvas[data-chart=\"compare-chart\"]')._chart"
        ".data.datasets.map(d => d.label)"
    )
    assert sorted(datasets) == ["careful-model (n=8)", "reckless-model (n=8)"]
    screenshot(desktop, "evaluation-compare")
    assert broken == []
