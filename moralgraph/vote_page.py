"""What the voting page records with each vote: the page's version and the order of Yes and No.

Bump ``PAGE_VERSION`` whenever the voting page's wording or layout changes, and say what changed
below, so a researcher can compare the votes given before and after.

- ``vote-1`` (never recorded; votes before page versions have a blank ``page_version``): "Yes"
  filled blue, "No" and "Not sure" outlined, no instructions.
- ``vote-2``: three equal answer buttons, Yes/No order from the study task (or random per
  participant), instructions with one example before the first pair, the answers kept in reach
  at the bottom of the screen.
"""

from __future__ import annotations

import hashlib
import re

PAGE_VERSION = "vote-2"

# A study task's config may fix the order: {"answer_order": "yes_first" | "no_first" | "random"}.
ANSWER_ORDERS = ("yes_first", "no_first", "random")
_VERSION = re.compile(r"^vote-\d{1,4}$")


def task_answer_order(config: dict | None) -> str:
    """Return the order of Yes and No a voting task's ``config`` asks for (default ``random``)."""
    order = (config or {}).get("answer_order")
    return order if order in ANSWER_ORDERS else "random"


def yes_first_for(*, voter_id: int, deliberation_id: int, order: str) -> bool:
    """Return whether Yes comes before No for this voter: fixed by ``order``, or, for ``random``,
    drawn once per participant and deliberation (the same on every pair and every reload)."""
    if order in ("yes_first", "no_first"):
        return order == "yes_first"
    digest = hashlib.sha256(f"vote-order:{voter_id}:{deliberation_id}".encode()).digest()
    return digest[0] % 2 == 0


def posted_page_version(text: str | None) -> str:
    """Return the page version a posted form says it was given on (else the current one)."""
    return text if text and _VERSION.match(text) else PAGE_VERSION


def posted_yes_first(text: str | None) -> bool | None:
    """Return the order a posted form says it showed, or None if it does not say."""
    return {"yes_first": True, "no_first": False}.get(text or "")
