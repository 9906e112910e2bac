"""Playwright driving Debian's chromium against live_server."""

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import expect, sync_playwright

    # A shared 2-core CI box can take seconds to answer; wait as long as the pages do.
    expect.set_options(timeout=15_000)

    # Playwright's sync API runs an event loop in this thread; the ORM calls tests make to set up
    # data are still plain synchronous calls, so Django's async guard is lifted while it runs.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-gpu",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        # Every context a test opens (the phone/desktop fixtures' and its own) is watched for
        # CSP refusals; the autouse no_csp_refusal fixture fails the test on any.
        open_context = browser.new_context

        def new_context(*args, **kwargs):
            context = open_context(*args, **kwargs)
            _watch_csp(context)
            return context

        browser.new_context = new_context
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


# Every Content-Security-Policy refusal in any page of any context the test opens.
_REFUSED: list[str] = []

# Say where: chromium's own message names the directive but not the element or the script.
_SAY_WHERE = (
    "document.addEventListener('securitypolicyviolation', event => console.error("
    "'Content Security Policy violation:', event.violatedDirective, event.sourceFile,"
    " event.lineNumber, (event.target && event.target.outerHTML || '').slice(0, 200)));"
)


def _watch_csp(context) -> None:
    """Record each CSP refusal chromium logs in ``context`` (every page, every navigation)."""

    def on_console(message) -> None:
        if "Content Security Policy" in message.text:
            where = message.page.url if message.page else message.location.get("url", "")
            _REFUSED.append(f"{where}: {message.text}")

    context.on("console", on_console)
    context.add_init_script(_SAY_WHERE)


@pytest.fixture(autouse=True)
def no_csp_refusal():
    """Fails a browser test whose pages broke the Content-Security-Policy anywhere."""
    _REFUSED.clear()
    yield _REFUSED
    refused, _REFUSED[:] = list(_REFUSED), []
    assert not refused, "the Content-Security-Policy refused:\n" + "\n".join(refused)


@pytest.fixture
def phone(browser):
    """A page in a phone-sized window (crowdworkers use phones)."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def desktop(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def screenshot():
    """Save a full-page screenshot under test-results/ (CI keeps them for a person to look at)."""

    def take(page, name: str, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


@pytest.fixture
def schwartz10(db):
    """The seeded Schwartz-10 scheme, seeded again if a flushing test wiped it (serialized
    rollback does not always bring the migration's data back: pytest-django 4.14, both DBs)."""
    from tests.annotation.factories import schwartz10_scheme

    return schwartz10_scheme()
