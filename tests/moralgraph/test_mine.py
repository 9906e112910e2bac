"""A participant sees where their own value ended up and says whether that is fair."""

import pytest

from moralgraph.models import FairnessAnswer
from moralgraph.services import impression_record, vote_submit
from tests.moralgraph.conftest import make_voter

pytestmark = pytest.mark.django_db

MINE = "/moralgraph/mg/mine/"


@pytest.fixture
def judged(world):
    """Alice's value A judged less wise than B (twice) and wiser than C (twice)."""
    for from_card, to_card in ((world.a, world.b), (world.c, world.a)):
        story = world.story(world.distress, from_card, to_card)
        for _ in range(2):
            voter = make_voter()
            impression_record(voter=voter, story=story)
            vote_submit(voter=voter, deliberation=world.deliberation, story=story, choice="wiser")
    return world


def test_a_participant_sees_their_values_rank_and_the_values_around_it(judged, alice_client):
    page = alice_client.get(MINE).content.decode()
    assert "Honest care" in page and "When in distress" in page
    assert "#2</span> of 3 values" in page
    wiser_at = page.index("Judged wiser than yours:")
    less_at = page.index("Yours was judged wiser than:")
    assert wiser_at < page.index("Gentle honesty", wiser_at) < less_at
    assert page.index("Deep care", less_at) > less_at
    assert "Is this a fair position?" in page


def test_the_fairness_answer_is_stored_once_and_can_be_changed(judged, alice_client, alice):
    body = {"card": judged.a.pk, "context": judged.distress.pk, "answer": "unfair"}
    assert alice_client.post(MINE, {**body, "comment": "Care matters more"}).status_code == 302
    assert alice_client.post(MINE, {**body, "answer": "fair"}).status_code == 302
    answer = FairnessAnswer.objects.get()
    assert (answer.voter, answer.answer) == (alice, "fair")
    assert "Change my answer" in alice_client.get(MINE).content.decode()


def test_no_one_answers_for_a_value_that_is_not_theirs(judged, bob_client):
    body = {"card": judged.a.pk, "context": judged.distress.pk, "answer": "fair"}
    assert bob_client.post(MINE, body).status_code == 403
    assert bob_client.post(MINE, {**body, "answer": "meh"}).status_code == 403
    assert not FairnessAnswer.objects.exists()


def test_an_unknown_answer_is_refused(judged, alice_client):
    body = {"card": judged.a.pk, "context": judged.distress.pk, "answer": "meh"}
    response = alice_client.post(MINE, body)
    assert response.status_code == 400
    assert not FairnessAnswer.objects.exists()


def test_someone_without_a_judged_value_is_told_so(judged, bob_client):
    assert "None of your values has been judged yet" in bob_client.get(MINE).content.decode()


def test_card_text_is_escaped(world, alice_client):
    world.b.title = "<script>alert(1)</script>"
    world.b.save()
    story = world.story(world.distress, world.a, world.b)
    for _ in range(2):
        voter = make_voter()
        impression_record(voter=voter, story=story)
        vote_submit(voter=voter, deliberation=world.deliberation, story=story, choice="wiser")
    page = alice_client.get(MINE).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
