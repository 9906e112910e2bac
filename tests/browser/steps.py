"""Steps the browser tests share."""

from tests.elicitation.factories import ScenarioFactory
from tests.factories import StudyFactory, StudyTaskFactory

PASSWORD = "correct horse battery staple"  # every UserFactory user's


def sign_in(page, base_url: str, username: str = "rita") -> None:
    """Sign ``username`` in on the login page."""
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def interview_study(slug: str, title: str):
    """Make a study whose one task is an interview about a scenario; return the scenario."""
    scenario = ScenarioFactory(question="My friend keeps cancelling plans. What should I do?")
    study = StudyFactory(slug=slug, title=title, completion_code=slug.upper()[:8])
    StudyTaskFactory(
        study=study,
        kind="elicitation",
        title="Talk",
        config={"deliberation": scenario.deliberation.name},
    )
    return scenario
