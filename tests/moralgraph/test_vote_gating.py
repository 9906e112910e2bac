"""A vote counts only in an open deliberation, from a participant of a study with that voting
task; researchers preview without storing; older votes that fail this stay, marked."""

import importlib

import pytest
from django.apps import apps as django_apps

from core.models import User
from moralgraph.models import Vote
from moralgraph.selectors import graph_for_deliberation
from moralgraph.services import impression_record, story_show_next, vote_submit
from tests.moralgraph.conftest import make_voter

pytestmark = pytest.mark.django_db

VOTES = "/api/moralgraph/deliberations/mg/votes/"


def vote_by_api(api_for, user, story, choice="wiser"):
    return api_for(user).post(VOTES, {"story": story.pk, "choice": choice}, format="json")


def test_a_participant_of_the_voting_study_votes_and_it_counts(world, bob, api_for):
    story = world.story(world.distress, world.b, world.c)
    impression_record(voter=bob, story=story)

    response = vote_by_api(api_for, bob, story)

    assert response.status_code == 201 and response.json()["stored"] is True
    assert Vote.objects.get().counted


def test_a_participant_in_no_study_with_this_voting_task_is_refused(world, api_for):
    outsider = User.objects.create(username="carol", role=User.Role.PARTICIPANT)  # no study
    story = world.story(world.distress, world.b, world.c)
    impression_record(voter=outsider, story=story)

    response = vote_by_api(api_for, outsider, story)

    assert response.status_code == 403
    assert "participant of a study with this voting task" in response.json()["detail"]
    assert not Vote.objects.exists()


def test_a_closed_deliberation_takes_no_votes(world, bob, api_for):
    story = world.story(world.distress, world.b, world.c)
    impression_record(voter=bob, story=story)
    world.deliberation.is_open = False
    world.deliberation.save()

    response = vote_by_api(api_for, bob, story)

    assert response.status_code == 403 and "closed" in response.json()["detail"]
    assert not Vote.objects.exists()


def test_a_researcher_previews_the_voting_page_and_nothing_is_stored(world, rita, rita_client):
    world.story(world.distress, world.b, world.c)

    shown = story_show_next(voter=rita, deliberation=world.deliberation)
    page = rita_client.post(
        "/moralgraph/mg/vote/", {"story": shown.pk, "choice": "wiser"}, HTTP_HX_REQUEST="true"
    )

    assert page.status_code == 200
    assert not Vote.objects.exists()
    assert not rita.story_impressions.exists()


def test_a_researchers_api_vote_is_a_preview(world, rita, api_for):
    story = world.story(world.distress, world.b, world.c)

    response = vote_by_api(api_for, rita, story)

    assert response.status_code == 200
    assert response.json()["stored"] is False and "Preview" in response.json()["detail"]
    assert not Vote.objects.exists()


def test_older_votes_that_would_not_count_stay_marked_and_the_graph_can_include_them(world):
    story = world.story(world.distress, world.b, world.c)
    voters = [make_voter() for _ in range(2)]
    for voter in voters:
        impression_record(voter=voter, story=story)
        vote_submit(voter=voter, deliberation=world.deliberation, story=story, choice="wiser")
    researcher = User.objects.create(username="old-rita", role=User.Role.RESEARCHER)
    outsider = User.objects.create(username="old-carol", role=User.Role.PARTICIPANT)
    imported = User.objects.create(username="mge-42", role=User.Role.PARTICIPANT)
    imported.set_unusable_password()
    imported.save()
    for user in (researcher, outsider, imported):  # cast before the gate existed
        Vote.objects.create(
            deliberation=world.deliberation,
            context=story.context,
            from_card=story.from_card,
            to_card=story.to_card,
            voter=user,
            choice="wiser",
        )

    migration = importlib.import_module("moralgraph.migrations.0003_vote_counted")
    migration.mark_votes_that_would_not_count(django_apps, None)

    counted = dict(Vote.objects.values_list("voter__username", "counted"))
    assert counted == {
        voters[0].username: True,
        voters[1].username: True,
        "old-rita": False,
        "old-carol": False,
        "mge-42": True,  # imported votes always count
    }
    assert Vote.objects.count() == 5, "nothing is deleted"

    _, gated = graph_for_deliberation(deliberation=world.deliberation, rule="majority")
    _, everything = graph_for_deliberation(
        deliberation=world.deliberation, rule="majority", include_uncounted=True
    )
    (edge,) = gated["edges"]
    assert edge["counts"] == {"wiser": 3, "not_wiser": 0, "unsure": 0}  # 2 + the imported one
    (edge,) = everything["edges"]
    assert edge["counts"] == {"wiser": 5, "not_wiser": 0, "unsure": 0}


def test_the_graph_api_includes_uncounted_votes_only_when_asked(world, rita, api_for):
    story = world.story(world.distress, world.b, world.c)
    for choice in ("wiser", "wiser"):
        voter = make_voter()
        impression_record(voter=voter, story=story)
        vote_submit(voter=voter, deliberation=world.deliberation, story=story, choice=choice)
    Vote.objects.update(counted=False)

    gated = api_for(rita).get("/api/moralgraph/deliberations/mg/graph/").json()
    everything = (
        api_for(rita).get("/api/moralgraph/deliberations/mg/graph/?include_uncounted=true").json()
    )

    assert gated["edges"] == [] and len(everything["edges"]) == 1


def test_a_participant_whose_votes_would_be_refused_is_told_before_answering(world, bob, client):
    world.story(world.distress, world.b, world.c)
    outsider = User.objects.create(username="carol", role=User.Role.PARTICIPANT)  # no study

    client.force_login(bob)
    counted = client.get("/moralgraph/mg/vote/").content.decode()
    client.force_login(outsider)
    refused = client.get("/moralgraph/mg/vote/").content.decode()

    assert 'id="mg-refused"' not in counted and "Preview" not in counted
    assert 'id="mg-refused"' in refused
    assert "You can vote here only as a participant of a study with this voting task" in refused
    world.deliberation.is_open = False
    world.deliberation.save()
    client.force_login(bob)
    closed = client.get("/moralgraph/mg/vote/").content.decode()
    assert "This deliberation is closed: votes are no longer taken." in closed
