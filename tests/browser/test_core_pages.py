"""A crowdworker from Prolific and a researcher use ValueLab in a real browser."""

import pytest
from playwright.sync_api import expect

from core.models import Participation, User
from tests.core.test_llm_check import VALID_CARD
from tests.factories import StudyFactory, StudyTaskFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PID = "5f0c8a1b2c3d4e5f60718293"


def test_a_crowdworker_joins_from_prolific_consents_and_gets_the_completion_code(
    live_server, phone, screenshot
):
    study = StudyFactory(
        slug="values", title="What matters in a good answer", completion_code="VL2026"
    )
    StudyTaskFactory(
        study=study, title="Consent", instructions="Answers are kept under a pseudonym."
    )

    phone.goto(f"{live_server.url}/join/values/?PROLIFIC_PID={PID}&STUDY_ID=s1&SESSION_ID=x1")

    expect(phone.get_by_role("heading", name="What matters in a good answer")).to_be_visible()
    expect(phone.locator("#completion-code")).to_have_count(0)
    screenshot(phone, "study-page-phone")
    phone.get_by_role("link", name="Start").click()
    expect(phone.get_by_text("Answers are kept under a pseudonym.")).to_be_visible()
    phone.get_by_label("I have read this and agree to take part.").check()
    phone.get_by_role("button", name="Continue").click()

    expect(phone.locator("#completion-code")).to_have_text("VL2026")
    link = phone.get_by_role("link", name="Return to Prolific")
    expect(link).to_have_attribute(
        "href", "https://app.prolific.com/submissions/complete?cc=VL2026"
    )
    screenshot(phone, "study-done-phone")
    assert Participation.objects.get(user__prolific_pid=PID).completed is not None


def test_a_returning_crowdworker_resumes_where_they_were(live_server, phone):
    study = StudyFactory(slug="values", title="Values")
    StudyTaskFactory(study=study)
    url = f"{live_server.url}/join/values/?PROLIFIC_PID={PID}"

    phone.goto(url)
    phone.context.clear_cookies()
    phone.goto(url)

    expect(phone.get_by_role("heading", name="Values")).to_be_visible()
    assert User.objects.filter(prolific_pid=PID).count() == 1


def test_a_join_link_without_a_pid_shows_what_went_wrong(live_server, phone):
    StudyFactory(slug="values", title="Values")

    phone.goto(f"{live_server.url}/join/values/")

    expect(phone.get_by_role("alert")).to_contain_text("no Prolific participant id")


def test_a_researcher_signs_in_and_sees_their_home(live_server, desktop, screenshot):
    UserFactory(username="rita", role=User.Role.RESEARCHER)
    StudyFactory(slug="values", title="Values study")

    desktop.goto(f"{live_server.url}/researcher/")
    expect(desktop.get_by_role("heading", name="Sign in")).to_be_visible()
    desktop.get_by_label("Username").fill("rita")
    desktop.get_by_label("Password").fill("correct horse battery staple")
    desktop.get_by_role("button", name="Sign in").click()

    expect(desktop.get_by_role("heading", name="Researcher home")).to_be_visible()
    expect(desktop.get_by_role("link", name="Values study")).to_be_visible()
    screenshot(desktop, "researcher-home")


def test_a_researcher_checks_the_llm_and_sees_each_step(
    live_server, desktop, llm_double, eager_jobs
):
    UserFactory(username="rita", role=User.Role.RESEARCHER)
    llm_double.reply("Four.").reply("It is four.").reply_json({"answer": "4", "confident": True})
    llm_double.reply_json(VALID_CARD)
    desktop.goto(f"{live_server.url}/login/")
    desktop.get_by_label("Username").fill("rita")
    desktop.get_by_label("Password").fill("correct horse battery staple")
    desktop.get_by_role("button", name="Sign in").click()

    desktop.get_by_role("button", name="Check the LLM").click()

    expect(desktop.get_by_role("heading", name="Check the LLM")).to_be_visible()
    expect(desktop.locator(".status")).to_have_text("Succeeded")
    rows = desktop.locator("table").first.locator("tbody tr")
    expect(rows).to_have_count(5)
    expect(desktop.locator(".llm-endpoint")).to_contain_text("json_schema")
    expect(desktop.locator(".llm-endpoint")).to_contain_text("one vector per text")
    expect(rows.nth(0)).to_contain_text("Four.")
    expect(rows.nth(2)).to_contain_text('"answer":"4"')


def test_an_admin_works_in_the_django_admin_within_the_content_security_policy(
    live_server, desktop
):
    """Django's admin pages (sign-in, index, a list, a form) run under the same strict CSP."""
    UserFactory(username="adam", role=User.Role.ADMIN, is_staff=True, is_superuser=True)
    StudyFactory(slug="values", title="Values study")

    desktop.goto(f"{live_server.url}/admin/")
    desktop.get_by_label("Username").fill("adam")
    desktop.get_by_label("Password").fill("correct horse battery staple")
    desktop.get_by_role("button", name="Log in").click()
    expect(desktop.get_by_role("heading", name="Site administration")).to_be_visible()

    desktop.goto(f"{live_server.url}/admin/core/study/")
    expect(desktop.get_by_role("link", name="Values study")).to_be_visible()
    desktop.get_by_role("link", name="Values study").click()
    expect(desktop.get_by_role("button", name="Save", exact=True)).to_be_visible()


def test_an_injected_inline_script_or_handler_does_not_run_and_the_refusal_is_caught(
    live_server, desktop, no_csp_refusal
):
    """The policy is enforced in the browser, and the check every browser test runs sees it."""
    desktop.goto(f"{live_server.url}/login/")
    desktop.evaluate(
        """() => {
          window.ran = [];
          const script = document.createElement("script");
          script.textContent = "window.ran.push('script')";
          document.body.append(script);
          document.body.insertAdjacentHTML(
            "beforeend", "<img src='/nowhere.png' onerror=\\"window.ran.push('handler')\\">");
        }"""
    )
    desktop.wait_for_timeout(500)

    assert desktop.evaluate("window.ran") == []
    refused = "\n".join(no_csp_refusal)
    assert "script-src" in refused, refused
    no_csp_refusal.clear()  # refused as it should be: not a failure of this test
