"""Pages draw their charts through the project's shared static/js/charts.js, data as data."""

import pytest
from playwright.sync_api import expect

from core.models import User
from tests.elicitation.factories import DeliberationFactory, ScenarioFactory
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MARKUP_NAME = '<img src=x onerror="window.injected=1">'


def test_the_grades_chart_shows_a_prompt_name_with_markup_as_text(live_server, desktop, screenshot):
    from elicitation.models import Chat, ChatGrade

    UserFactory(username="rita", role=User.Role.RESEARCHER)
    scenario = ScenarioFactory(deliberation=DeliberationFactory(name="faith", title="Faith"))
    for index, (name, story) in enumerate([("mge-interviewer", True), (MARKUP_NAME, False)]):
        chat = Chat.objects.create(
            participant=UserFactory(username=f"p{index}"),
            scenario=scenario,
            prompt_name=name,
            prompt_version="1",
            state=Chat.State.APPROVED,
        )
        ChatGrade.objects.create(
            chat=chat,
            grader_version="interview-rubric/1",
            personal_story=story,
            led_the_witness=False,
            one_question_at_a_time=True,
            card_clarity=4,
            notes="ok",
        )
    errors = []
    desktop.on("pageerror", lambda error: errors.append(str(error)))

    desktop.goto(f"{live_server.url}/login/")
    desktop.get_by_label("Username").fill("rita")
    desktop.get_by_label("Password").fill("correct horse battery staple")
    desktop.get_by_role("button", name="Sign in").click()
    desktop.goto(f"{live_server.url}/elicitation/researcher/d/faith/grades/")
    expect(desktop.locator("#grades-by-prompt")).to_contain_text(MARKUP_NAME)

    desktop.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('grades-chart'))"
    )
    datasets = desktop.evaluate(
        "() => Chart.getChart(document.getElementById('grades-chart')).data.datasets"
        ".map(d => ({label: d.label, data: d.data, colour: d.backgroundColor}))"
    )
    palette = desktop.evaluate("() => valuelabCharts.PALETTE")
    screenshot(desktop, "elicitation-grades-markup-name")

    # Each version's bars are named with how many interviews they rest on.
    assert sorted(d["label"] for d in datasets) == sorted(
        ["mge-interviewer v1 (n=1)", f"{MARKUP_NAME} v1 (n=1)"]
    )
    by_label = {d["label"]: d for d in datasets}
    assert by_label["mge-interviewer v1 (n=1)"]["data"] == [100, 0, 100]
    assert by_label[f"{MARKUP_NAME} v1 (n=1)"]["data"] == [0, 0, 100]
    assert [d["colour"] for d in datasets] == palette[:2], "the shared palette colours the bars"
    assert desktop.evaluate("() => window.injected") is None, "a prompt name ran as markup"
    assert errors == [], f"script errors on the grades page: {errors}"
