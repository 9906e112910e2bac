"""Import the published MGE study's database dump: cards, scenarios, contexts, stories, votes,
and the voters' demographics (``demographic.json``, optional) as voter attributes.

All or nothing: every file is read and checked before anything is written, and the writes run in
one transaction. Re-importing adds nothing: each record is keyed by its id in the dump.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from core.models import User
from elicitation.models import Deliberation, MoralContext, Scenario, ValuesCard
from moralgraph.mge_dump import CANONICAL_TABLE, CARD_TABLE, MgeImportError, parse_dump
from moralgraph.models import GraphSettings, Rule, UpgradeStory, Vote, VoterAttribute
from moralgraph.snapshots import snapshots_mark_changed

DEFAULT_DELIBERATION = "mge"
ATTRIBUTE_SOURCE = "mge demographic.json"
IMPORT_PROMPT_NAME = "mge-2023"

__all__ = ["CARD_TABLE", "DEFAULT_DELIBERATION", "MgeImportError", "mge_import"]


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
    parsed = parse_dump(directory)
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
