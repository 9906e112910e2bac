"""import_mge: the MGE dump loads whole, once, or not at all."""

import pytest
from django.core.management import CommandError, call_command

from core.models import User
from elicitation.models import Deliberation, MoralContext, Scenario, ValuesCard
from moralgraph.importing import MgeImportError, mge_import
from moralgraph.models import GraphSettings, UpgradeStory, Vote
from tests.moralgraph.conftest import tiny_dump, write_dump

pytestmark = pytest.mark.django_db


def test_import_loads_cards_contexts_stories_and_votes(tiny_mge):
    report = mge_import(directory=tiny_mge)

    assert report["totals"] == {
        "scenarios": 2,
        "contexts": 2,
        "canonical_cards": 3,
        "cards": 3,
        # One per pair, context and text: 1→2 and 2→3 in distress, 1→2 in decisions, 3→1.
        "stories": 4,
        "votes": 6,
        "voters_with_attributes": 0,
    }
    deliberation = Deliberation.objects.get(name="mge")
    assert GraphSettings.objects.get(deliberation=deliberation).rule == "dft-2023"
    canonical = ValuesCard.objects.get(source_table="canonicalValuesCard", source_id="1")
    mine = ValuesCard.objects.get(source_table="valuesCard", source_id="1")
    assert canonical.canonical_id is None
    assert mine.canonical_id == canonical.pk
    assert mine.description == "ChatGPT should my autonomy."
    assert mine.detailed_text == "In detail: My Autonomy."
    assert mine.policies == ["MOMENTS of my autonomy", "CHOICES that matter"]
    assert ValuesCard.objects.get(source_id="7").canonical_id is None
    distress = MoralContext.objects.get(text="When in distress")
    assert set(distress.scenarios.values_list("source_id", flat=True)) == {"abortion"}
    assert Scenario.objects.get(source_id="parenting").contexts.count() == 1

    vote = Vote.objects.get(voter__username="mge-1", from_card=canonical, context=distress)
    assert vote.choice == Vote.Choice.WISER
    assert vote.comment == "because"
    assert vote.to_card.source_id == "2"
    assert vote.story.story == "I moved from 1 to 2."
    assert vote.created.isoformat().startswith("2023-10-01T10:00:00")
    assert User.objects.get(username="mge-3").role == User.Role.PARTICIPANT
    assert UpgradeStory.objects.filter(story="A newer story.", prompt_version="RUN2").exists()


def test_import_twice_adds_nothing(tiny_mge):
    mge_import(directory=tiny_mge)
    counts = [
        m.objects.count() for m in (ValuesCard, MoralContext, Scenario, UpgradeStory, Vote, User)
    ]

    report = mge_import(directory=tiny_mge)

    assert set(report["created"].values()) == {0}
    after = [
        m.objects.count() for m in (ValuesCard, MoralContext, Scenario, UpgradeStory, Vote, User)
    ]
    assert after == counts


@pytest.mark.parametrize(
    "file, index, field, value, message",
    [
        (
            "edge.json",
            4,
            "relationship",
            "maybe",
            "edge.json record 4: relationship: unknown value",
        ),
        ("edge.json", 1, "toId", 99, "edge.json record 1: toId: no canonical card 99"),
        (
            "edge.json",
            0,
            "createdAt",
            "yesterday",
            "edge.json record 0: createdAt: not an ISO-8601",
        ),
        (
            "valuesCard.json",
            2,
            "evaluationCriteria",
            "one",
            "valuesCard.json record 2: evaluationCriteria",
        ),
        ("valuesCard.json", 0, "canonicalCardId", 42, "valuesCard.json record 0: canonicalCardId"),
        (
            "edgeHypothesis.json",
            0,
            "contextId",
            "Nowhere",
            "edgeHypothesis.json record 0: contextId",
        ),
    ],
)
def test_malformed_record_is_named_and_nothing_is_stored(
    tmp_path, file, index, field, value, message
):
    files = tiny_dump()
    files[file][index][field] = value
    directory = write_dump(tmp_path / "bad", files)

    with pytest.raises(MgeImportError) as error:
        mge_import(directory=directory)

    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)
    assert not Deliberation.objects.exists()
    assert not ValuesCard.objects.exists()
    assert not User.objects.filter(username__startswith="mge-").exists()


def test_a_missing_file_or_broken_json_is_a_one_line_command_error(tmp_path):
    files = tiny_dump()
    del files["edge.json"]
    directory = write_dump(tmp_path / "no-edges", files)
    with pytest.raises(CommandError, match=r"^edge.json: missing from"):
        call_command("import_mge", str(directory))

    write_dump(directory, tiny_dump())
    (directory / "cases.json").write_text("[{")
    with pytest.raises(CommandError, match=r"^cases.json: not valid JSON"):
        call_command("import_mge", str(directory))
    assert not Deliberation.objects.exists()


def test_command_prints_counts_into_the_named_deliberation(tiny_mge, capsys):
    call_command("import_mge", str(tiny_mge), "--deliberation", "study-2023")
    out = capsys.readouterr().out
    assert "Deliberation study-2023:" in out
    assert "votes: 6 new, 6 in all" in out
    assert Deliberation.objects.filter(name="study-2023").exists()


def test_the_real_study_loads_whole(real_mge):
    report = mge_import(directory=real_mge)
    assert report["totals"]["cards"] == 630
    assert report["totals"]["canonical_cards"] == 115
    assert report["totals"]["contexts"] == 21
    assert report["totals"]["scenarios"] == 3
    assert report["totals"]["votes"] == 1592
    # Votes point at canonical cards only.
    assert not Vote.objects.filter(from_card__canonical__isnull=False).exists()
    assert (
        ValuesCard.objects.filter(source_table="valuesCard", canonical__isnull=False).count() == 625
    )


def test_a_deliberation_name_that_is_not_a_slug_is_refused(tiny_mge):
    with pytest.raises(CommandError, match="^deliberation: name"):
        call_command("import_mge", str(tiny_mge), "--deliberation", "not a slug")
    assert not Deliberation.objects.exists()
