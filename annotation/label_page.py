"""What the labelling page records with each annotation: the page's version, and its keys.

Bump ``PAGE_VERSION`` whenever the labelling page's wording or layout changes, and say what
changed below, so a researcher can compare the labels given before and after.

- ``label-1`` (never recorded; annotations before page versions have a blank ``page_version``):
  a chosen −1 filled red, +1 green, 0 grey; keys 1–9 only.
- ``label-2``: every chosen answer looks the same; instructions with one example before the
  first item; a key for every value (1–9, then a–z); answers kept through a reload.
"""

from __future__ import annotations

import re

PAGE_VERSION = "label-2"

# Keys that pick a value's row: 1-9, then letters (arrows reach any further rows).
HOTKEYS = "123456789abcdefghijklmnopqrstuvwxyz"
_VERSION = re.compile(r"^label-\d{1,4}$")


def hotkey_for(index: int) -> str:
    """Return the key that picks the value in row ``index`` (0-based), or "" if none does."""
    return HOTKEYS[index] if 0 <= index < len(HOTKEYS) else ""


def hotkeys_summary(count: int) -> list[str]:
    """Return the keys that pick the first ``count`` rows as short runs, e.g. ["1–9", "a–j"]."""
    keys = HOTKEYS[: max(0, count)]
    runs = []
    for block in (keys[:9], keys[9:]):
        if len(block) == 1:
            runs.append(block)
        elif block:
            runs.append(f"{block[0]}–{block[-1]}")
    return runs


def posted_page_version(text: str | None) -> str:
    """Return the page version a posted form says it was given on (else the current one)."""
    return text if text and _VERSION.match(text) else PAGE_VERSION
