"""What the participant-page browser tests share: a watch on console errors and failed requests."""

from __future__ import annotations

PHONE_HEIGHT = 844


def watch(page) -> list[str]:
    """Collect, from now on, every console error, uncaught script error, 404 and 5xx of ``page``
    (any of them on a participant's page is a defect)."""
    problems: list[str] = []

    def on_console(message) -> None:
        if message.type == "error":
            problems.append(f"console error on {page.url}: {message.text}")

    def on_response(response) -> None:
        if response.status == 404 or response.status >= 500:
            problems.append(f"{response.status} for {response.url} (on {page.url})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"script error on {page.url}: {error}"))
    page.on("response", on_response)
    return problems


def in_first_screen(page, locator) -> bool:
    """Whether ``locator`` is wholly on screen without scrolling (the page is at its top)."""
    page.evaluate("window.scrollTo(0, 0)")
    box = locator.bounding_box()
    height = page.viewport_size["height"]
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


def looks(locator) -> list[tuple]:
    """The computed look of each element of ``locator``: what could favour one answer.

    Read once the page has loaded: the elements exist before the page's stylesheet applies, and a
    look read in between is the browser's default button, which differs with the text's width."""
    locator.page.wait_for_load_state("load")
    rows = locator.evaluate_all(
        """elements => elements.map(element => {
             const style = getComputedStyle(element);
             const box = element.getBoundingClientRect();
             return [style.backgroundColor, style.color, style.borderColor,
                     style.borderWidth, style.fontWeight, style.fontSize,
                     Math.round(box.width), Math.round(box.height)];
           })"""
    )
    return [tuple(row) for row in rows]
