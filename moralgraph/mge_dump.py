"""Read and check the published MGE study's database dump: what each file's records mean.

Every file is read and every record checked before the import writes anything; a malformed
record raises ``MgeImportError`` naming the file and the record. No database access.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from moralgraph.models import Vote

CANONICAL_TABLE = "canonicalValuesCard"
CARD_TABLE = "valuesCard"
REQUIRED_FILES = (
    "canonicalValuesCard.json",
    "valuesCard.json",
    "cases.json",
    "context.json",
    "contextsOnCases.json",
    "edge.json",
    "edgeHypothesis.json",
)
RELATIONSHIPS = {
    "upgrade": Vote.Choice.WISER,
    "no_upgrade": Vote.Choice.NOT_WISER,
    "not_sure": Vote.Choice.UNSURE,
}
DEMOGRAPHIC_FILE = "demographic.json"
# demographic.json's fields, as the explorer's group filter names them.
DEMOGRAPHIC_FIELDS = {
    "usPoliticalAffiliation": "US political affiliation",
    "sex": "Sex",
    "age": "Age group",
    "ethnicitySimplified": "Ethnicity",
    "countryOfBirth": "Country of birth",
    "countryOfResidence": "Country of residence",
    "nationality": "Nationality",
    "language": "First language",
    "fluentLanguages": "Fluent languages",
    "studentStatus": "Student",
    "employmentStatus": "Employment",
}
AGE_GROUPS = ((18, 29), (30, 44), (45, 59), (60, 200))
# Prolific's word for an answer it no longer holds: not an answer.
NOT_GIVEN = {"", "DATA_EXPIRED", "CONSENT_REVOKED"}
# Stories the study no longer had when it exported its votes.
LOST_STORIES = {"", "OLD"}


class MgeImportError(Exception):
    """The dump cannot be imported; the message names the file and the record."""


@dataclass
class _Record:
    file: str
    index: int
    data: dict

    def fail(self, field: str, problem: str) -> MgeImportError:
        return MgeImportError(f"{self.file} record {self.index}: {field}: {problem}")

    def get(self, field: str, kind: type | tuple[type, ...], *, optional: bool = False) -> Any:
        value = self.data.get(field)
        if value is None and optional:
            return None
        # bool is an int in Python; ids must not be true/false.
        if not isinstance(value, kind) or isinstance(value, bool):
            raise self.fail(field, f"expected {_kind_name(kind)}, got {value!r:.60}")
        return value

    def text(self, field: str, *, optional: bool = False) -> str:
        value = self.get(field, str, optional=optional)
        return value or ""

    def strings(self, field: str) -> list[str]:
        value = self.get(field, list)
        if not all(isinstance(item, str) for item in value):
            raise self.fail(field, "expected a list of strings")
        return value

    def when(self, field: str) -> datetime:
        value = self.get(field, str)
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise self.fail(field, f"not an ISO-8601 date: {value!r:.40}")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {int: "an integer", str: "a string", list: "a list", dict: "an object"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _read(directory: Path, name: str) -> list[_Record]:
    path = directory / name
    if not path.is_file():
        raise MgeImportError(f"{name}: missing from {directory}")
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise MgeImportError(f"{name}: not valid JSON ({error})")
    if not isinstance(rows, list):
        raise MgeImportError(f"{name}: expected a JSON list of records")
    records = []
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise MgeImportError(f"{name} record {index}: expected an object")
        records.append(_Record(name, index, row))
    return records


def _story_key(from_id: int, to_id: int, context_id: str, story: str) -> str:
    digest = hashlib.sha256(f"{from_id}\x1f{to_id}\x1f{context_id}\x1f{story}".encode())
    return "story-" + digest.hexdigest()[:32]


@dataclass
class ParsedDump:
    cases: list[dict]
    contexts: list[str]
    contexts_on_cases: list[tuple[str, str]]
    canonical_cards: list[dict]
    cards: list[dict]
    stories: dict[str, dict]
    votes: list[dict]
    demographics: dict[int, dict[str, str]]


def _card(record: _Record) -> dict:
    return {
        "source_id": str(record.get("id", int)),
        "title": record.text("title"),
        "description": record.text("instructionsShort"),
        "detailed_text": record.text("instructionsDetailed", optional=True),
        "policies": record.strings("evaluationCriteria"),
        "created": record.when("createdAt"),
    }


def _age_group(age: int) -> str:
    for low, high in AGE_GROUPS:
        if low <= age <= high:
            return f"{low}+" if high >= 200 else f"{low}–{high}"
    return f"under {AGE_GROUPS[0][0]}"


def _demographics(records: list[_Record]) -> dict[int, dict[str, str]]:
    """Return each voter's attributes by their user id; answers not given are left out."""
    people: dict[int, dict[str, str]] = {}
    for record in records:
        user_id = record.get("userId", int)
        if user_id in people:
            raise record.fail("userId", f"a second record for user {user_id}")
        attributes = {}
        for field, name in DEMOGRAPHIC_FIELDS.items():
            if field == "age":
                age = record.get("age", int, optional=True)
                if age is not None:
                    if not 0 < age < 130:
                        raise record.fail("age", f"not an age: {age}")
                    attributes[name] = _age_group(age)
                continue
            if field == "fluentLanguages":
                value = ", ".join(sorted(record.strings(field))) if field in record.data else ""
            else:
                value = record.text(field, optional=True).strip()
            if value not in NOT_GIVEN:
                attributes[name] = value[:200]
        people[user_id] = attributes
    return people


def parse_dump(directory: Path) -> ParsedDump:
    """Read and check every file; return the records in import order."""
    files = {name: _read(directory, name) for name in REQUIRED_FILES}

    cases = []
    for record in files["cases.json"]:
        cases.append(
            {
                "source_id": record.text("id"),
                "title": record.text("title", optional=True),
                "question": record.text("question"),
                "seed_message": record.text("seedMessage", optional=True),
            }
        )
    case_ids = {case["source_id"] for case in cases}
    contexts = [record.text("id") for record in files["context.json"]]
    context_ids = set(contexts)
    contexts_on_cases = []
    for record in files["contextsOnCases.json"]:
        context_id, case_id = record.text("contextId"), record.text("caseId")
        if context_id not in context_ids:
            raise record.fail("contextId", f"no context {context_id!r} in context.json")
        if case_id not in case_ids:
            raise record.fail("caseId", f"no case {case_id!r} in cases.json")
        contexts_on_cases.append((context_id, case_id))

    canonical_cards = [_card(record) for record in files["canonicalValuesCard.json"]]
    canonical_ids = {int(card["source_id"]) for card in canonical_cards}
    cards = []
    for record in files["valuesCard.json"]:
        card = _card(record)
        canonical_id = record.get("canonicalCardId", int, optional=True)
        if canonical_id is not None and canonical_id not in canonical_ids:
            raise record.fail("canonicalCardId", f"no canonical card {canonical_id}")
        card["canonical_source_id"] = None if canonical_id is None else str(canonical_id)
        cards.append(card)

    def pair(record: _Record) -> tuple[int, int, str]:
        from_id, to_id = record.get("fromId", int), record.get("toId", int)
        context_id = record.text("contextId")
        for field, card_id in (("fromId", from_id), ("toId", to_id)):
            if card_id not in canonical_ids:
                raise record.fail(field, f"no canonical card {card_id}")
        if from_id == to_id:
            raise record.fail("toId", "a value cannot be wiser than itself")
        if context_id not in context_ids:
            raise record.fail("contextId", f"no context {context_id!r} in context.json")
        return from_id, to_id, context_id

    stories: dict[str, dict] = {}

    def story_for(record: _Record, from_id: int, to_id: int, context_id: str) -> str | None:
        text = record.text("story", optional=True)
        if text in LOST_STORIES:
            return None
        key = _story_key(from_id, to_id, context_id, text)
        created = record.when("createdAt")
        known = stories.get(key)
        if known is None or created < known["created"]:
            stories[key] = {
                "source_id": key,
                "from": from_id,
                "to": to_id,
                "context": context_id,
                "story": text,
                "prompt_version": (record.text("runId", optional=True) or "")[:32],
                "created": created,
            }
        return key

    for record in files["edgeHypothesis.json"]:
        story_for(record, *pair(record))

    votes = []
    seen: set[tuple] = set()
    for record in files["edge.json"]:
        from_id, to_id, context_id = pair(record)
        user_id = record.get("userId", int)
        relationship = record.text("relationship")
        if relationship not in RELATIONSHIPS:
            raise record.fail(
                "relationship",
                f"unknown value {relationship!r}; expected {', '.join(RELATIONSHIPS)}",
            )
        key = (user_id, from_id, to_id, context_id)
        if key in seen:
            raise record.fail("userId", "a second vote by this user on the same pair and context")
        seen.add(key)
        votes.append(
            {
                "user": user_id,
                "from": from_id,
                "to": to_id,
                "context": context_id,
                "choice": RELATIONSHIPS[relationship],
                "comment": record.text("comment", optional=True),
                "created": record.when("createdAt"),
                "story": story_for(record, from_id, to_id, context_id),
                "record": record,
            }
        )
    demographics = {}
    if (directory / DEMOGRAPHIC_FILE).exists():
        demographics = _demographics(_read(directory, DEMOGRAPHIC_FILE))
    return ParsedDump(
        cases, contexts, contexts_on_cases, canonical_cards, cards, stories, votes, demographics
    )
