"""Scores recomputed as votes arrive: per-context snapshots, off the request path when large."""

import json

import pytest

from core.models import Job
from moralgraph.models import ContextSnapshot
from moralgraph.services import graph_rule_set, impression_record, vote_submit
from moralgraph.snapshots import RECOMPUTE_JOB, recompute_schedule, snapshots_recompute
from tests.moralgraph.conftest import make_voter

pytestmark = pytest.mark.django_db

EXPLORER = "/api/moralgraph/deliberations/mg/contexts/{}/explorer/"


def votes(world, story, choices):
    for choice in choices:
        voter = make_voter()
        impression_record(voter=voter, story=story)
        vote_submit(voter=voter, deliberation=world.deliberation, story=story, choice=choice)


def test_votes_recompute_their_contexts_scores_after_commit(
    world, eager_jobs, django_capture_on_commit_callbacks
):
    story = world.story(world.distress, world.b, world.c)
    with django_capture_on_commit_callbacks(execute=True):
        votes(world, story, ["wiser", "wiser", "not_wiser"])

    snapshot = ContextSnapshot.objects.get(context=world.distress)
    assert not snapshot.is_stale
    document = json.loads(snapshot.document)
    assert document["winner"] == world.c.pk
    assert [(e["from"], e["to"], e["counts"]["wiser"]) for e in document["edges"]] == [
        (world.b.pk, world.c.pk, 2)
    ]
    assert [v["title"] for v in document["values"]] == ["Deep care", "Gentle honesty"]
    assert Job.objects.filter(kind=RECOMPUTE_JOB, status=Job.Status.SUCCEEDED).exists()


def test_a_burst_of_votes_queues_one_recompute(world):
    assert recompute_schedule(deliberation=world.deliberation)
    assert not recompute_schedule(deliberation=world.deliberation)
    assert Job.objects.filter(kind=RECOMPUTE_JOB).count() == 1


def test_under_majority_only_the_contexts_with_new_votes_are_recomputed(world):
    votes(world, world.story(world.distress, world.b, world.c), ["wiser", "wiser"])
    votes(world, world.story(world.deciding, world.d, world.e), ["wiser", "wiser"])
    assert snapshots_recompute(deliberation=world.deliberation)["contexts"] == 2

    votes(world, world.story(world.deciding, world.e, world.d), ["not_wiser"])

    assert snapshots_recompute(deliberation=world.deliberation)["contexts"] == 1
    assert snapshots_recompute(deliberation=world.deliberation)["contexts"] == 0


def test_a_vote_during_a_recompute_leaves_the_snapshot_stale(world):
    story = world.story(world.distress, world.b, world.c)
    votes(world, story, ["wiser", "wiser"])
    snapshots_recompute(deliberation=world.deliberation)
    votes(world, story, ["wiser"])
    snapshot = ContextSnapshot.objects.get(context=world.distress)
    assert snapshot.is_stale and snapshot.changes == 3 and snapshot.computed_changes == 2


def test_a_small_deliberation_is_recomputed_when_read(world, api_for, rita):
    votes(world, world.story(world.distress, world.b, world.c), ["wiser", "wiser"])

    data = api_for(rita).get(EXPLORER.format(world.distress.pk)).json()

    assert data["stale"] is False
    assert data["winner"] == world.c.pk


def test_a_large_deliberation_serves_its_last_snapshot_and_recomputes_off_the_request(
    world, api_for, rita, settings, django_capture_on_commit_callbacks
):
    settings.MORALGRAPH_INLINE_MAX_VOTES = 1
    story = world.story(world.distress, world.b, world.c)
    votes(world, story, ["wiser", "wiser"])
    snapshots_recompute(deliberation=world.deliberation)
    votes(world, story, ["not_wiser", "not_wiser", "not_wiser"])
    client = api_for(rita)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        data = client.get(EXPLORER.format(world.distress.pk)).json()

    assert data["stale"] is True
    assert data["winner"] == world.c.pk  # the last snapshot, not the new votes
    assert callbacks  # a recompute is queued
    snapshots_recompute(deliberation=world.deliberation)
    data = client.get(EXPLORER.format(world.distress.pk)).json()
    assert (data["stale"], data["winner"], data["edges"]) == (False, None, [])


def test_a_context_never_computed_of_a_large_deliberation_says_pending(
    world, api_for, rita, settings
):
    settings.MORALGRAPH_INLINE_MAX_VOTES = 0
    votes(world, world.story(world.distress, world.b, world.c), ["wiser"])
    data = api_for(rita).get(EXPLORER.format(world.distress.pk)).json()
    assert data["pending"] is True and data["stale"] is True


def test_changing_the_rule_recomputes_every_context(world):
    votes(world, world.story(world.distress, world.b, world.c), ["wiser", "wiser"])
    snapshots_recompute(deliberation=world.deliberation)

    graph_rule_set(deliberation=world.deliberation, rule="dft-2023")

    assert all(s.is_stale for s in ContextSnapshot.objects.all())
    snapshots_recompute(deliberation=world.deliberation)
    document = json.loads(ContextSnapshot.objects.get(context=world.distress).document)
    assert document["rule"] == "dft-2023"
    assert document["edges"][0]["strength"] == 1.0


def test_a_recompute_queued_long_ago_that_never_ran_does_not_block_the_next(world, settings):
    from datetime import timedelta

    from django.utils import timezone

    from moralgraph.models import GraphSettings

    assert recompute_schedule(deliberation=world.deliberation)
    GraphSettings.objects.update(recompute_queued=timezone.now() - timedelta(hours=1))
    assert recompute_schedule(deliberation=world.deliberation)
    assert Job.objects.filter(kind=RECOMPUTE_JOB).count() == 2
