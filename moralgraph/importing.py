"""Import the published MGE study's database dump: cards, scenarios, contexts, stories, votes,
and the voters' demographics (``demographic.json``, optional) as voter attributes.

All or nothing: every file is read and checked before anything is written, and the writes run in
one transaction. Re-importing adds nothing: each record is keyed by its id in the dump.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from core.models import User
from elicitation.models import Deliberation, MoralContext, Scenario, ValuesCard
from moralgraph.models import GraphSettings, Rule, UpgradeStory, Vote, VoterAttribute
from moralgraph.snapshots import snapshots_mark_changed

DEFAULT_DELIBERATION = "mge"
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
ATTRIBUTE_SOURCE = "mge demographic.json"
# Stories the study no longer had when it exported its votes.
LOST_STORIES = {"", "OLD"}
IMPORT_PROMPT_NAME = "mge-2023"


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
class _Parsed:
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


def _parse(directory: Path) -> _Parsed:
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
    return _Parsed(
        cases, contexts, contexts_on_cases, canonical_cards, cards, stories, votes, demographics
    )


def _clean(instance, record_name: str, exclude: list[str]) -> None:
    try:
        # Related rows are in hand (not looked up), and uniqueness is settled by the source keys.
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        problems = "; ".join(
            f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items()
        )
        raise MgeImportError(f"{record_name}: {problems}")


def mge_import(*, directory: Path, deliberation_name: str = DEFAULT_DELIBERATION) -> dict[str, int]:
    """Import the MGE dump in ``directory`` into deliberation ``deliberation_name``.

    Return how many of each kind of record were created (``created_*``) and how many the
    deliberation now holds. Raise ``MgeImportError`` with a one-line reason, having stored
    nothing, when a file is missing or a record is malformed.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise MgeImportError(f"{directory}: not a directory")
    parsed = _parse(directory)
    created: dict[str, int] = {}
    with transaction.atomic():
        deliberation, made = Deliberation.objects.get_or_create(
            name=deliberation_name,
            defaults={"title": "Moral Graph Elicitation (MGE study, 2023)"},
        )
        if made:
            _clean(deliberation, "deliberation", [])
        GraphSettings.objects.get_or_create(
            deliberation=deliberation, defaults={"rule": Rule.DFT_2023}
        )

        scenarios = {s.source_id: s for s in deliberation.scenarios.exclude(source_id="")}
        new = []
        for index, case in enumerate(parsed.cases):
            if case["source_id"] not in scenarios:
                scenario = Scenario(deliberation=deliberation, **case)
                _clean(scenario, f"cases.json record {index}", ["deliberation"])
                new.append(scenario)
        for scenario in Scenario.objects.bulk_create(new):
            scenarios[scenario.source_id] = scenario
        created["scenarios"] = len(new)

        contexts = {c.text: c for c in deliberation.contexts.all()}
        new = []
        for index, text in enumerate(parsed.contexts):
            if text not in contexts:
                context = MoralContext(deliberation=deliberation, text=text, source_id=text)
                _clean(context, f"context.json record {index}", ["deliberation"])
                new.append(context)
                contexts[text] = context
        MoralContext.objects.bulk_create(new)
        created["contexts"] = len(new)
        links = MoralContext.scenarios.through
        existing_links = set(
            links.objects.filter(moralcontext__deliberation=deliberation).values_list(
                "moralcontext_id", "scenario_id"
            )
        )
        new_links = {
            (contexts[context_id].pk, scenarios[case_id].pk)
            for context_id, case_id in parsed.contexts_on_cases
        } - existing_links
        links.objects.bulk_create(
            links(moralcontext_id=context_pk, scenario_id=scenario_pk)
            for context_pk, scenario_pk in sorted(new_links)
        )

        cards = {
            (c.source_table, c.source_id): c
            for c in ValuesCard.objects.filter(deliberation=deliberation).exclude(source_id="")
        }

        def add_cards(rows: list[dict], table: str) -> int:
            new = []
            for index, row in enumerate(rows):
                if (table, row["source_id"]) in cards:
                    continue
                canonical_source_id = row.get("canonical_source_id")
                card = ValuesCard(
                    deliberation=deliberation,
                    source_table=table,
                    title=row["title"],
                    description=row["description"],
                    detailed_text=row["detailed_text"],
                    policies=row["policies"],
                    source_id=row["source_id"],
                    created=row["created"],
                    canonical=(
                        cards[(CANONICAL_TABLE, canonical_source_id)]
                        if canonical_source_id
                        else None
                    ),
                )
                _clean(card, f"{table}.json record {index}", ["deliberation", "canonical"])
                new.append(card)
            for card in ValuesCard.objects.bulk_create(new):
                cards[(card.source_table, card.source_id)] = card
            return len(new)

        created["canonical_cards"] = add_cards(parsed.canonical_cards, CANONICAL_TABLE)
        created["cards"] = add_cards(parsed.cards, CARD_TABLE)

        def value(source_id: int) -> ValuesCard:
            return cards[(CANONICAL_TABLE, str(source_id))]

        stories = {s.source_id: s for s in deliberation.upgrade_stories.exclude(source_id="")}
        new = []
        for key, row in parsed.stories.items():
            if key not in stories:
                story = UpgradeStory(
                    deliberation=deliberation,
                    context=contexts[row["context"]],
                    from_card=value(row["from"]),
                    to_card=value(row["to"]),
                    story=row["story"],
                    prompt_name=IMPORT_PROMPT_NAME,
                    prompt_version=row["prompt_version"],
                    source_id=key,
                    created=row["created"],
                )
                _clean(story, f"story {key}", ["deliberation", "context", "from_card", "to_card"])
                new.append(story)
        for story in UpgradeStory.objects.bulk_create(new):
            stories[story.source_id] = story
        created["stories"] = len(new)

        usernames = {f"mge-{vote['user']}" for vote in parsed.votes}
        users = {u.username: u for u in User.objects.filter(username__in=usernames)}
        new = []
        for username in sorted(usernames - set(users)):
            user = User(username=username, role=User.Role.PARTICIPANT)
            user.set_unusable_password()
            new.append(user)
        User.objects.bulk_create(new)
        # Re-read: bulk_create does not return primary keys on every database backend.
        users = {u.username: u for u in User.objects.filter(username__in=usernames)}
        created["voters"] = len(new)

        existing_votes = set(
            Vote.objects.filter(deliberation=deliberation).values_list(
                "voter_id", "from_card_id", "to_card_id", "context_id"
            )
        )
        new = []
        for row in parsed.votes:
            voter = users[f"mge-{row['user']}"]
            from_card, to_card, context = (
                value(row["from"]),
                value(row["to"]),
                contexts[row["context"]],
            )
            if (voter.pk, from_card.pk, to_card.pk, context.pk) in existing_votes:
                continue
            vote = Vote(
                deliberation=deliberation,
                context=context,
                from_card=from_card,
                to_card=to_card,
                story=stories[row["story"]] if row["story"] else None,
                voter=voter,
                choice=row["choice"],
                comment=row["comment"],
                created=row["created"],
            )
            record = row["record"]
            _clean(
                vote,
                f"{record.file} record {record.index}",
                ["deliberation", "context", "from_card", "to_card", "story", "voter"],
            )
            new.append(vote)
        Vote.objects.bulk_create(new, batch_size=500)
        created["votes"] = len(new)
        # Demographics: only of people who voted (the others have nothing to filter).
        existing_attributes = set(
            VoterAttribute.objects.filter(voter__in=users.values()).values_list("voter_id", "name")
        )
        new_attributes = []
        for user_id, attributes in sorted(parsed.demographics.items()):
            voter = users.get(f"mge-{user_id}")
            if voter is None:
                continue
            for name, value in attributes.items():
                if (voter.pk, name) not in existing_attributes:
                    new_attributes.append(
                        VoterAttribute(voter=voter, name=name, value=value, source=ATTRIBUTE_SOURCE)
                    )
        VoterAttribute.objects.bulk_create(new_attributes, batch_size=500)
        created["voter_attributes"] = len(new_attributes)
        # New votes make their contexts' scores stale; they are recomputed after the commit.
        snapshots_mark_changed(
            deliberation=deliberation, context_ids=[vote.context_id for vote in new]
        )

    totals = {
        "scenarios": deliberation.scenarios.count(),
        "contexts": deliberation.contexts.count(),
        "canonical_cards": deliberation.cards.filter(source_table=CANONICAL_TABLE).count(),
        "cards": deliberation.cards.filter(source_table=CARD_TABLE).count(),
        "stories": deliberation.upgrade_stories.count(),
        "votes": deliberation.votes.count(),
        "voters_with_attributes": VoterAttribute.objects.filter(
            voter__moral_graph_votes__deliberation=deliberation
        )
        .values("voter_id")
        .distinct()
        .count(),
    }
    return {"deliberation": deliberation.name, "created": created, "totals": totals}
