"""Voting: one vote per voter, pair and context; bad votes are refused and store nothing."""

import pytest
from django.core.exceptions import ValidationError

from core.models import Participation
from moralgraph.models import UpgradeStory, Vote
from moralgraph.services import graph_rule_set, impression_record, vote_record
from tests.elicitation.factories import DeliberationFactory, MoralContextFactory, ValuesCardFactory
from tests.factories import StudyFactory, StudyTaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(alice, bob):
    deliberation = DeliberationFactory(name="d")
    # Votes count only from participants of a study with this voting task.
    study = StudyFactory(slug="voting-d")
    StudyTaskFactory(study=study, kind="moralgraph.vote", config={"deliberation": "d"})
    for voter in (alice, bob):
        Participation.objects.create(study=study, user=voter)
    return {
        "deliberation": deliberation,
        "from_card": ValuesCardFactory(deliberation=deliberation),
        "to_card": ValuesCardFactory(deliberation=deliberation),
        "context": MoralContextFactory(deliberation=deliberation),
    }


def test_voting_again_updates_the_vote_instead_of_adding_one(alice, pair):
    first, created = vote_record(voter=alice, choice="wiser", **pair)
    again, created_again = vote_record(voter=alice, choice="not_wiser", comment="changed", **pair)
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    vote = Vote.objects.get()
    assert (vote.choice, vote.comment) == ("not_wiser", "changed")


def test_two_voters_on_one_pair_are_both_counted(alice, bob, pair):
    vote_record(voter=alice, choice="wiser", **pair)
    vote_record(voter=bob, choice="wiser", **pair)
    assert Vote.objects.count() == 2


def test_unknown_choice_is_refused(alice, pair):
    with pytest.raises(ValidationError) as error:
        vote_record(voter=alice, choice="maybe", **pair)
    assert "choice" in error.value.message_dict
    assert not Vote.objects.exists()


def test_a_pair_from_another_deliberation_is_refused(alice, pair):
    elsewhere = ValuesCardFactory(deliberation=DeliberationFactory())
    with pytest.raises(ValidationError) as error:
        vote_record(voter=alice, choice="wiser", **{**pair, "to_card": elsewhere})
    assert "to_card" in error.value.message_dict
    assert not Vote.objects.exists()


def test_a_vote_on_a_duplicate_card_or_on_one_value_twice_is_refused(alice, pair):
    duplicate = ValuesCardFactory(deliberation=pair["deliberation"], canonical=pair["to_card"])
    with pytest.raises(ValidationError):
        vote_record(voter=alice, choice="wiser", **{**pair, "to_card": duplicate})
    with pytest.raises(ValidationError):
        vote_record(voter=alice, choice="wiser", **{**pair, "to_card": pair["from_card"]})
    assert not Vote.objects.exists()


def test_the_story_must_be_about_the_pair_voted_on(alice, pair):
    story = UpgradeStory.objects.create(
        deliberation=pair["deliberation"],
        context=pair["context"],
        from_card=pair["to_card"],
        to_card=pair["from_card"],
        story="The other way round.",
    )
    with pytest.raises(ValidationError) as error:
        vote_record(voter=alice, choice="wiser", story=story, **pair)
    assert "story" in error.value.message_dict


def test_rule_is_set_per_deliberation(pair):
    assert graph_rule_set(deliberation=pair["deliberation"], rule="dft-2023").rule == "dft-2023"
    with pytest.raises(ValidationError):
        graph_rule_set(deliberation=pair["deliberation"], rule="plurality")
    assert pair["deliberation"].graph_settings.rule == "dft-2023"


@pytest.fixture
def shown(alice, pair):
    """A story about ``pair`` that Alice was shown."""
    story = UpgradeStory.objects.create(story="I moved on.", **pair)
    impression_record(voter=alice, story=story)
    return story


def test_vote_api_creates_then_updates(alice, api_for, pair, shown):
    client = api_for(alice)
    body = {
        "from_card": pair["from_card"].pk,
        "to_card": pair["to_card"].pk,
        "context": pair["context"].pk,
        "choice": "wiser",
    }
    assert (
        client.post("/api/moralgraph/deliberations/d/votes/", body, format="json").status_code
        == 201
    )
    response = client.post(
        "/api/moralgraph/deliberations/d/votes/",
        {"story": shown.pk, "choice": "unsure"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["choice"] == "unsure"
    vote = Vote.objects.get()
    assert (vote.choice, vote.story) == ("unsure", shown)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"choice": "maybe"}, "choice"),
        ({"to_card": "other"}, "to_card"),
        ({"context": 0}, "context"),
        ({"story": "elsewhere"}, "story"),
    ],
)
def test_vote_api_answers_400_and_stores_nothing(alice, api_for, pair, shown, change, field):
    other = ValuesCardFactory(deliberation=DeliberationFactory())
    body = {
        "from_card": pair["from_card"].pk,
        "to_card": pair["to_card"].pk,
        "context": pair["context"].pk,
        "choice": "wiser",
        **change,
    }
    if body["to_card"] == "other":
        body["to_card"] = other.pk
    if body.get("story") == "elsewhere":
        elsewhere = DeliberationFactory()
        a, b = (ValuesCardFactory(deliberation=elsewhere) for _ in range(2))
        story = UpgradeStory.objects.create(
            deliberation=elsewhere,
            context=MoralContextFactory(deliberation=elsewhere),
            from_card=a,
            to_card=b,
            story="Elsewhere.",
        )
        impression_record(voter=alice, story=story)
        body = {"story": story.pk, "choice": "wiser"}
    response = api_for(alice).post("/api/moralgraph/deliberations/d/votes/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Vote.objects.exists()


def test_vote_api_refuses_a_pair_the_voter_was_not_shown(alice, bob, api_for, pair, shown):
    body = {"story": shown.pk, "choice": "wiser"}
    response = api_for(bob).post("/api/moralgraph/deliberations/d/votes/", body, format="json")
    assert response.status_code == 403
    by_pair = {
        "from_card": pair["from_card"].pk,
        "to_card": pair["to_card"].pk,
        "context": pair["context"].pk,
        "choice": "wiser",
    }
    response = api_for(bob).post("/api/moralgraph/deliberations/d/votes/", by_pair, format="json")
    assert response.status_code == 403
    assert not Vote.objects.exists()


def test_vote_api_needs_a_signed_in_user(api_for, pair):
    response = api_for(None).post("/api/moralgraph/deliberations/d/votes/", {}, format="json")
    assert response.status_code in (401, 403)
