"""The 40-item Portrait Values Questionnaire (PVQ-40): which value each item measures, and
Schwartz's standard scoring turned into a BaseAlign target (no database).

The scoring key below is authored here (item number → value, Schwartz 2003); the item texts are
Schwartz's instrument and are not copied into the project: they are read from the CSV the
``TRAINING_PVQ40_ITEMS`` setting points at (by default ``../shared/data/pvq40/pvq40_items.csv``).

Scoring, for one person with answers 1–6 ("not like me at all" … "very much like me"):

1. each value's raw score is the mean of its items;
2. its centred score is that mean minus the person's mean over all 40 items (Schwartz's
   correction for scale use: people who rate everything high differ from those who rate low);
3. the target is the centred scores divided by the largest absolute centred score of that
   person, so their most distinctive value sits at ±1 and the rest keep their sign and ratios
   (every centred score is 0 → every target value is 0). A preset's ±1 and a person's ±1 then
   mean the same thing: "this value matters most".
"""

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# The page a person answered on, stored with their answers (Target.details["page_version"]).
# Bump it whenever the PVQ-40 page's wording or layout changes, and say what changed:
# - ``pvq-1`` (never recorded; profiles before page versions have no ``page_version``): the six
#   answers as coloured buttons.
# - ``pvq-2``: every answer looks the same until chosen; answers kept through a reload.
PAGE_VERSION = "pvq-2"
_PAGE_VERSION = re.compile(r"^pvq-\d{1,4}$")


def posted_page_version(text: str | None) -> str:
    """Return the page version a posted form says it was given on (else the current one)."""
    return text if text and _PAGE_VERSION.match(text) else PAGE_VERSION


SCALE_MIN, SCALE_MAX = 1, 6
SCALE_LABELS = {
    1: "Not like me at all",
    2: "Not like me",
    3: "A little like me",
    4: "Somewhat like me",
    5: "Like me",
    6: "Very much like me",
}

# Schwartz's PVQ-40 scoring key: the items (1-based) that measure each value.
ITEMS_OF_VALUE: dict[str, tuple[int, ...]] = {
    "self_direction": (1, 11, 22, 34),
    "stimulation": (6, 15, 30),
    "hedonism": (10, 26, 37),
    "achievement": (4, 13, 24, 32),
    "power": (2, 17, 39),
    "security": (5, 14, 21, 31, 35),
    "conformity": (7, 16, 28, 36),
    "tradition": (9, 20, 25, 38),
    "benevolence": (12, 18, 27, 33),
    "universalism": (3, 8, 19, 23, 29, 40),
}
VALUE_OF_ITEM: dict[int, str] = {
    item: value for value, items in ITEMS_OF_VALUE.items() for item in items
}
N_ITEMS = 40

# The shared CSV lost its curly quotes ("??"); these put the intended characters back.
_REPAIRS = {
    "worlds??people": "world's people",
    "life?? pleasures": "life's pleasures",
    "??poil??myself": "'spoil' myself",
    "don?? know": "don't know",
}


class PVQError(ValueError):
    """The answers or the item file cannot be scored; the message names the item or line."""


@dataclass(frozen=True)
class Item:
    number: int
    text: str
    value: str


def load_items(path: str | Path) -> list[Item]:
    """Return the 40 items from the CSV at ``path`` (columns item, value), checked against the
    scoring key; raise PVQError naming the line that disagrees."""
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if len(rows) != N_ITEMS:
        raise PVQError(f"{path}: expected {N_ITEMS} items, found {len(rows)}")
    items = []
    for number, row in enumerate(rows, start=1):
        value = (row.get("value") or "").strip().lower().replace("-", "_")
        if value != VALUE_OF_ITEM[number]:
            raise PVQError(
                f"{path} line {number + 1}: value {row.get('value')!r}, but the PVQ-40 key "
                f"says item {number} measures {VALUE_OF_ITEM[number]}"
            )
        text = " ".join((row.get("item") or "").split())
        for broken, fixed in _REPAIRS.items():
            text = text.replace(broken, fixed)
        items.append(Item(number=number, text=text, value=value))
    return items


def check_answers(answers: Mapping[int, object]) -> dict[int, int]:
    """Return the answers as {item number: 1..6}; raise PVQError naming a missing or bad item."""
    clean = {}
    for number in range(1, N_ITEMS + 1):
        raw = answers.get(number)
        if raw is None or raw == "":
            raise PVQError(f"item {number}: not answered")
        try:
            rating = int(raw)
        except (TypeError, ValueError):
            raise PVQError(f"item {number}: {raw!r} is not a number from 1 to 6") from None
        if (
            isinstance(raw, bool)
            or not SCALE_MIN <= rating <= SCALE_MAX
            or str(rating) != str(raw).strip()
        ):
            raise PVQError(f"item {number}: {raw!r} is not a number from 1 to 6")
        clean[number] = rating
    extra = sorted(set(answers) - set(range(1, N_ITEMS + 1)), key=str)
    if extra:
        raise PVQError(f"item {extra[0]}: the PVQ-40 has items 1 to 40 only")
    return clean


@dataclass(frozen=True)
class Profile:
    raw: dict[str, float]  # mean rating per value, 1..6
    centred: dict[str, float]  # raw minus the person's mean over all items
    target: dict[str, float]  # centred / max |centred|, in [-1, 1]
    mean_rating: float


def score(answers: Mapping[int, object], dimensions: Sequence[str]) -> Profile:
    """Return the person's value profile and target (module docstring: the scoring)."""
    ratings = check_answers(answers)
    mean_rating = sum(ratings.values()) / N_ITEMS
    raw = {
        value: sum(ratings[i] for i in ITEMS_OF_VALUE[value]) / len(ITEMS_OF_VALUE[value])
        for value in dimensions
    }
    centred = {value: raw[value] - mean_rating for value in dimensions}
    largest = max(abs(v) for v in centred.values())
    target = {value: (c / largest if largest > 1e-9 else 0.0) for value, c in centred.items()}
    return Profile(
        raw={k: round(v, 4) for k, v in raw.items()},
        centred={k: round(v, 4) for k, v in centred.items()},
        target={k: round(v, 4) for k, v in target.items()},
        mean_rating=round(mean_rating, 4),
    )
