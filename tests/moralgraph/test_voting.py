"""The voting page and its pair-selection policy; study tasks; votes from many at once."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from core.models import Participation
from core.selectors import participation_task_states
from moralgraph.models import GraphSettings, StoryImpression, Vote
from moralgraph.selectors import story_next_for_voter
from moralgraph.services import impression_record, vote_submit
from moralgraph.study_tasks import KIND
from tests.factories import StudyFactory, StudyTaskFactory
from tests.moralgraph.conftest import make_voter

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]

VOTE = "/moralgraph/mg/vote/"


def test_the_page_shows_context_story_both_cards_question_and_progress(world, bob_client, bob):
    story = world.story(world.distress, world.b, world.c, text="I learned to stay <b>with</b> her.")

    page = bob_client.get(VOTE).content.decode()

    assert "When in distress" in page
    assert "I learned to stay &lt;b&gt;with&lt;/b&gt; her." in page
    assert page.index("Gentle honesty") < page.index("Deep care")  # from, then to
    assert "Did this person become wiser?" in page
    assert "Pair 1 of 1</span>" in page  # the one pair that exists for bob, not "of 10"
    assert StoryImpression.objects.filter(voter=bob, story=story).exists()


def test_voting_by_htmx_stores_the_vote_and_swaps_in_the_next_pair(world, bob_client, bob):
    first = world.story(world.distress, world.b, world.c)
    second = world.story(world.deciding, world.d, world.e, text="Second story.")
    bob_client.get(VOTE)
    shown = StoryImpression.objects.get(voter=bob).story

    response = bob_client.post(
        VOTE,
        {"story": shown.pk, "choice": "wiser", "comment": "Yes, clearly"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="pair"')
    assert "<html" not in html
    assert "Pair 2 of 2</span>" in html  # two pairs exist for bob
    assert response["Vary"].count("HX-Request") == 1
    vote = Vote.objects.get(voter=bob)
    assert (vote.story, vote.choice, vote.comment) == (shown, "wiser", "Yes, clearly")
    # The next pair was shown (and recorded) in the swapped-in fragment.
    next_story = StoryImpression.objects.exclude(story=shown).get(voter=bob).story
    assert next_story.story in html
    assert {shown, next_story} == {first, second}


def test_a_reload_shows_the_same_pair_until_it_is_answered(world, bob_client, bob):
    world.story(world.distress, world.b, world.c)
    world.story(world.deciding, world.d, world.e)
    bob_client.get(VOTE)
    bob_client.get(VOTE)
    assert StoryImpression.objects.filter(voter=bob).count() == 1


def test_revoting_on_a_pair_updates_the_vote(world, bob_client, bob):
    story = world.story(world.distress, world.b, world.c)
    impression_record(voter=bob, story=story)
    bob_client.post(VOTE, {"story": story.pk, "choice": "wiser"})
    bob_client.post(VOTE, {"story": story.pk, "choice": "not_wiser", "comment": "On reflection"})
    vote = Vote.objects.get()
    assert (vote.choice, vote.comment) == ("not_wiser", "On reflection")


@pytest.mark.parametrize(
    "what, status",
    [("not shown", 403), ("unknown choice", 400), ("other deliberation", 400), ("no story", 400)],
)
def test_bad_votes_are_refused_and_nothing_is_stored(world, bob_client, bob, what, status):
    from tests.elicitation.factories import (
        DeliberationFactory,
        MoralContextFactory,
        ValuesCardFactory,
    )

    story = world.story(world.distress, world.b, world.c)
    body = {"story": story.pk, "choice": "wiser"}
    if what != "not shown":
        impression_record(voter=bob, story=story)
    if what == "unknown choice":
        body["choice"] = "maybe"
    if what == "other deliberation":
        elsewhere = DeliberationFactory()
        from moralgraph.models import UpgradeStory

        other = UpgradeStory.objects.create(
            deliberation=elsewhere,
            context=MoralContextFactory(deliberation=elsewhere),
            from_card=ValuesCardFactory(deliberation=elsewhere),
            to_card=ValuesCardFactory(deliberation=elsewhere),
            story="Elsewhere",
        )
        impression_record(voter=bob, story=other)
        body["story"] = other.pk
    if what == "no story":
        body["story"] = 999999

    response = bob_client.post(VOTE, body, HTTP_HX_REQUEST="true")

    assert response.status_code == status
    assert 'role="alert"' in response.content.decode()
    assert not Vote.objects.exists()


def test_keys_y_n_u_answer(world, bob_client):
    world.story(world.distress, world.b, world.c)
    page = bob_client.get(VOTE).content.decode()
    for key, choice in (("y", "wiser"), ("n", "not_wiser"), ("u", "unsure")):
        assert f'value="{choice}"' in page and f'data-key="{key}"' in page
    assert "moralgraph/vote.js" in page


# --- the pair-selection policy ----------------------------------------------------------------


def test_a_voter_is_never_shown_a_pair_with_their_own_value_by_default(world, alice):
    world.story(world.distress, world.a, world.b)
    world.story(world.distress, world.c, world.a)
    assert story_next_for_voter(voter=alice, deliberation=world.deliberation) is None


def test_own_value_pairs_allows_that_many_and_no_more(world, alice):
    GraphSettings.objects.create(deliberation=world.deliberation, own_value_pairs=1)
    world.story(world.distress, world.a, world.b)
    world.story(world.distress, world.c, world.a)
    first = story_next_for_voter(voter=alice, deliberation=world.deliberation)
    impression_record(voter=alice, story=first)
    vote_submit(voter=alice, deliberation=world.deliberation, story=first, choice="wiser")
    assert story_next_for_voter(voter=alice, deliberation=world.deliberation) is None


def test_a_voter_never_sees_a_pair_twice_nor_its_other_direction(world, bob):
    forward = world.story(world.distress, world.b, world.c)
    world.story(world.distress, world.c, world.b)
    world.story(world.distress, world.b, world.c, text="A newer story of the same pair.")
    impression_record(voter=bob, story=forward)
    vote_submit(voter=bob, deliberation=world.deliberation, story=forward, choice="wiser")
    assert story_next_for_voter(voter=bob, deliberation=world.deliberation) is None


def test_pairs_with_few_votes_are_drawn_far_more_often(world, bob):
    crowded = world.story(world.distress, world.b, world.c)
    fresh = world.story(world.deciding, world.d, world.e)
    for _index in range(5):
        voter = make_voter()
        impression_record(voter=voter, story=crowded)
        vote_submit(voter=voter, deliberation=world.deliberation, story=crowded, choice="wiser")
    rng = random.Random(7)
    drawn = [
        story_next_for_voter(voter=bob, deliberation=world.deliberation, rng=rng).pk
        for _ in range(200)
    ]
    # Weights 1 / (1 + 5)² against 1: about 97% fresh.
    assert drawn.count(fresh.pk) > 180
    GraphSettings.objects.update_or_create(
        deliberation=world.deliberation, defaults={"pair_weight_power": 0}
    )
    drawn = [
        story_next_for_voter(voter=bob, deliberation=world.deliberation, rng=rng).pk
        for _ in range(200)
    ]
    assert 60 < drawn.count(fresh.pk) < 140


def test_the_latest_story_of_a_pair_is_the_one_shown(world, bob):
    world.story(world.distress, world.b, world.c, text="Old")
    newest = world.story(world.distress, world.b, world.c, text="New")
    assert story_next_for_voter(voter=bob, deliberation=world.deliberation) == newest


# --- study task -------------------------------------------------------------------------------


def test_the_voting_task_links_to_the_page_and_is_done_after_n_votes(world, bob, bob_client):
    study = StudyFactory(slug="vote-study")
    task = StudyTaskFactory(study=study, kind=KIND, config={"deliberation": "mg", "votes": 2})
    participation = Participation.objects.create(study=study, user=bob)
    stories = [
        world.story(world.distress, world.b, world.c),
        world.story(world.deciding, world.d, world.e),
        world.story(world.distress, world.c, world.a),
    ]
    state = participation_task_states(participation=participation)[0]
    assert state.url == f"/moralgraph/mg/vote/?task={task.pk}" and not state.done
    assert "Pair 1 of 2" in bob_client.get(state.url).content.decode()

    for _ in range(2):
        shown = StoryImpression.objects.filter(voter=bob).order_by("-pk").first().story
        response = bob_client.post(state.url, {"story": shown.pk, "choice": "wiser"})
    assert Vote.objects.filter(voter=bob).count() == 2
    html = response.content.decode()
    assert "all the pairs" in html and f"/study/{study.slug}/" in html
    assert participation_task_states(participation=participation)[0].done
    assert len(stories) == 3


def test_a_voting_task_asking_more_pairs_than_exist_ends_at_what_exists(world, bob, bob_client):
    study = StudyFactory(slug="few-pairs")
    task = StudyTaskFactory(study=study, kind=KIND, config={"deliberation": "mg", "votes": 10})
    participation = Participation.objects.create(study=study, user=bob)
    for args in [(world.distress, world.b, world.c), (world.deciding, world.d, world.e)]:
        world.story(*args)
    url = f"/moralgraph/mg/vote/?task={task.pk}"
    assert "Pair 1 of 2</span>" in bob_client.get(url).content.decode()

    for _ in range(2):
        shown = StoryImpression.objects.filter(voter=bob).order_by("-pk").first().story
        response = bob_client.post(url, {"story": shown.pk, "choice": "wiser"})

    html = response.content.decode()
    assert "all the pairs" in html and f"/study/{study.slug}/" in html
    assert participation_task_states(participation=participation)[0].done


# --- concurrency ------------------------------------------------------------------------------


def _race_on_sqlite_file(tmp_path, scenario: str = "votes") -> dict:
    path = tmp_path / "race.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "CELERY_BROKER_URL": "memory://"}
    done = subprocess.run(
        [sys.executable, "-m", "tests.moralgraph.race", scenario],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.django_db(transaction=True)
def test_concurrent_votes_on_one_pair_are_all_counted_and_revotes_never_duplicate(tmp_path):
    if connection.vendor == "sqlite":
        facts = _race_on_sqlite_file(tmp_path)
    else:
        from tests.moralgraph.race import scenario_votes

        facts = scenario_votes()

    assert facts["errors"] == []
    assert facts["created"] == [True] * 8
    assert facts["updated"] == [False] * 8
    assert facts["votes"] == facts["not_wiser"] == 8
    assert facts["changes"] == 16


@pytest.mark.django_db(transaction=True)
def test_tabs_opened_at_once_leave_the_voter_one_pair_to_judge(tmp_path):
    if connection.vendor == "sqlite":
        facts = _race_on_sqlite_file(tmp_path, "next")
    else:
        from tests.moralgraph.race import scenario_next

        facts = scenario_next()

    assert facts["errors"] == []
    assert len(facts["shown"]) == 1
    assert facts["impressions"] == facts["shown"]


def test_a_reload_after_new_stories_keeps_the_pending_pair(world, bob_client, bob):
    world.story(world.distress, world.b, world.c)
    bob_client.get(VOTE)
    for from_card, to_card in [(world.c, world.a), (world.d, world.e), (world.a, world.b)]:
        context = world.deciding if from_card == world.d else world.distress
        world.story(context, from_card, to_card)

    for _ in range(3):
        bob_client.get(VOTE)

    assert StoryImpression.objects.filter(voter=bob).count() == 1


def test_pair_vote_counts_read_only_the_pairs_asked_for(world, bob, monkeypatch):
    from moralgraph.selectors import voting

    asked = world.story(world.distress, world.b, world.c)
    other = world.story(world.distress, world.c, world.a)
    voters = [make_voter(f"counter{i}") for i in range(3)]
    for voter in voters:
        for story in (asked, other):
            impression_record(voter=voter, story=story)
            vote_submit(voter=voter, deliberation=world.deliberation, story=story, choice="wiser")
    key = (asked.from_card_id, asked.to_card_id, asked.context_id)
    unvoted = (world.d.pk, world.e.pk, world.deciding.pk)

    for spelled_out in (200, 0):  # each pair spelled out, then the cards-and-contexts filter
        monkeypatch.setattr(voting, "PAIRS_SPELLED_OUT", spelled_out)
        counts = voting.pair_vote_counts(deliberation=world.deliberation, pairs=[key, unvoted])
        assert dict(counts) == {key: 3}


def test_a_script_takes_the_next_story_through_the_api_and_votes_on_it(world, api_for, bob):
    client = api_for(bob)
    world.story(world.distress, world.b, world.c)
    url = "/api/moralgraph/deliberations/mg/"

    shown = client.get(url + "next/").json()
    assert shown["story"]["context"]["text"] == "When in distress"
    assert shown["story"]["from_card"]["title"] == "Gentle honesty"
    assert client.get(url + "next/").json()["story"]["id"] == shown["story"]["id"]
    vote = {"story": shown["story"]["id"], "choice": "unsure"}
    assert client.post(url + "votes/", vote, format="json").status_code == 201
    assert client.get(url + "next/").status_code == 204


def test_researcher_pages_list_deliberations_and_show_the_numbers(world, rita_client):
    world.story(world.distress, world.b, world.c)
    assert "Moral graph study" in rita_client.get("/moralgraph/").content.decode()
    page = rita_client.get("/moralgraph/mg/").content.decode()
    assert 'id="n-stories">1<' in page
    assert "Generate stories" in page and "strict majority" in page
