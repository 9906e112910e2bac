"""Upgrade stories: candidate pairs by embedding, both directions, runs kept, LLM failures."""

import numpy as np
import pytest
from django.urls import reverse

from core.job_worker import job_execute
from core.models import Job
from moralgraph.jobs import GENERATE_STORIES_JOB
from moralgraph.models import UpgradeStory
from moralgraph.services import impression_record, stories_generation_start, vote_submit
from moralgraph.stories import (
    PROMPT_NAME,
    PROMPT_VERSION,
    cards_for_context,
    nearest_pairs,
    stories_generate,
)

pytestmark = pytest.mark.django_db

DRAFT = {
    "story": "I used to tell people the bare truth. Then I saw a friend shut down, and I "
    "learned that truth lands only when it is offered with care.",
    "was_really_about": "Respecting people enough to be truthful with them.",
    "policy_map": [
        {"from_policy": "MOMENTS of honest care", "to_policy": "MOMENTS of gentle honesty"}
    ],
}


def test_nearest_pairs_pair_each_item_with_its_closest():
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    assert nearest_pairs(vectors, 1) == [(0, 1), (2, 3)]
    assert len(nearest_pairs(vectors, 3)) == 6
    assert nearest_pairs(vectors[:1], 2) == []


def test_a_contexts_values_are_the_canonical_cards_of_its_scenarios_and_itself(world):
    assert cards_for_context(world.distress) == [world.a, world.b, world.c]
    assert cards_for_context(world.deciding) == [world.d, world.e]
    from elicitation.models import ValuesCard

    ValuesCard.objects.create(
        deliberation=world.deliberation,
        title="Not approved yet",
        description="Proposed in an interview",
        scenario=world.s2,
        status=ValuesCard.Status.PROPOSED,
    )
    assert cards_for_context(world.deciding) == [world.d, world.e]


def test_stories_are_written_in_both_directions_with_run_and_prompt_version(world, llm_double):
    for _ in range(20):
        llm_double.reply_json(DRAFT)

    counts = stories_generate(deliberation=world.deliberation, run_id="run-1", per_card=1)

    stories = UpgradeStory.objects.filter(run_id="run-1")
    pairs = {(s.context_id, s.from_card_id, s.to_card_id) for s in stories}
    # Every pair is told both ways; D and E are the only pair of "When making decisions".
    assert {(c, b, a) for c, a, b in pairs} == pairs
    assert (world.deciding.pk, world.d.pk, world.e.pk) in pairs
    assert counts["written"] == len(pairs) == stories.count()
    story = stories.first()
    assert (story.prompt_name, story.prompt_version) == (PROMPT_NAME, PROMPT_VERSION)
    assert story.was_really_about == DRAFT["was_really_about"]
    assert story.policy_map == [
        {"from": "MOMENTS of honest care", "to": "MOMENTS of gentle honesty"}
    ]
    system, user = llm_double.chat_requests[0]["messages"][:2]
    assert "first-person story" in system["content"]
    assert "Context: When in distress" in user["content"]
    assert llm_double.embedding_requests


def test_a_second_run_keeps_every_old_story_and_tells_no_pair_twice(world, llm_double):
    stories_generate(deliberation=world.deliberation, run_id="run-1", per_card=1)
    first = set(UpgradeStory.objects.values_list("pk", flat=True))

    again = stories_generate(deliberation=world.deliberation, run_id="run-2", per_card=1)
    more = stories_generate(deliberation=world.deliberation, run_id="run-3", per_card=2)

    assert again["written"] == 0
    assert first <= set(UpgradeStory.objects.values_list("pk", flat=True))
    # Two nearest per value in a three-value context adds the pair left out before.
    assert more["written"] == 2
    regenerated = stories_generate(
        deliberation=world.deliberation, run_id="run-4", per_card=1, regenerate=True
    )
    assert regenerated["written"] == len(first)
    assert UpgradeStory.objects.count() == len(first) * 2 + 2


def test_the_llm_down_means_no_stories_a_retry_later_and_voting_goes_on(world, llm_double, alice):
    old = world.story(world.distress, world.b, world.c)
    impression_record(voter=alice, story=old)
    llm_double.fail(status=503, times=50)
    job = stories_generation_start(deliberation=world.deliberation, created_by=None)

    delay = job_execute(str(job.pk))

    job.refresh_from_db()
    assert delay is not None and delay > 0
    assert job.status == Job.Status.RETRYING
    assert UpgradeStory.objects.count() == 1
    vote, created = vote_submit(
        voter=alice, deliberation=world.deliberation, story=old, choice="wiser"
    )
    assert created and vote.story == old


def test_the_job_resumes_after_the_llm_comes_back(world, llm_double):
    llm_double.fail(status=503, times=50)
    job = stories_generation_start(deliberation=world.deliberation, created_by=None)
    job_execute(str(job.pk))
    llm_double.reset()

    assert job_execute(str(job.pk), retries=1) is None

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert job.result["written"] == UpgradeStory.objects.filter(run_id=str(job.pk)).count() > 0


def test_a_researcher_starts_story_writing_from_the_page_once_per_click(
    world, rita_client, llm_double, eager_jobs, django_capture_on_commit_callbacks
):
    url = reverse("moralgraph:stories_generate", args=["mg"])
    with django_capture_on_commit_callbacks(execute=True):
        first = rita_client.post(url, {"token": "t1"})
        second = rita_client.post(url, {"token": "t1"})

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    job = Job.objects.get(kind=GENERATE_STORIES_JOB)
    assert job.status == Job.Status.SUCCEEDED
    assert UpgradeStory.objects.filter(run_id=str(job.pk)).exists()
    page = rita_client.get(reverse("moralgraph:deliberation", args=["mg"]))
    assert PROMPT_VERSION in page.content.decode()


def test_a_researcher_starts_story_writing_through_the_api(world, api_for, rita, alice):
    from tests.factories import UserFactory

    url = "/api/moralgraph/deliberations/mg/stories/generate/"
    body = {"pairs_per_card": 2}
    response = api_for(rita).post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    again = api_for(rita).post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert response.status_code == again.status_code == 202
    job = Job.objects.get()
    # The same job output as every other job endpoint, and a retry returns the same job.
    assert response.json()["id"] == again.json()["id"] == str(job.pk)
    assert response.json()["kind"] == GENERATE_STORIES_JOB
    assert {"status", "percent", "message"} <= set(response.json())
    assert job.params == {"deliberation": world.deliberation.pk, "pairs_per_card": 2}
    # The key is the user's own: another researcher's request with the same key is a new job.
    other = UserFactory(username="rosa", role=rita.role)
    theirs = api_for(other).post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert theirs.status_code == 202 and theirs.json()["id"] != str(job.pk)
    assert api_for(alice).post(url, body, format="json").status_code == 403


def test_the_old_idempotency_key_body_field_still_makes_retries_safe(world, api_for, rita):
    url = "/api/moralgraph/deliberations/mg/stories/generate/"
    body = {"idempotency_key": "old-client"}
    first = api_for(rita).post(url, body, format="json")
    second = api_for(rita).post(url, body, format="json")

    assert first.json()["id"] == second.json()["id"]
    assert Job.objects.filter(kind=GENERATE_STORIES_JOB).count() == 1


def _embedded_texts(llm_double) -> list[str]:
    texts = []
    for request in llm_double.embedding_requests:
        body = request["input"]
        texts += [body] if isinstance(body, str) else list(body)
    return texts


def test_a_run_embeds_only_the_cards_not_embedded_yet(world, llm_double):
    stories_generate(deliberation=world.deliberation, run_id="run-1", per_card=1)
    first = _embedded_texts(llm_double)
    # Each of the five values is embedded once.
    assert len(first) == len(set(first)) == 5

    stories_generate(deliberation=world.deliberation, run_id="run-2", per_card=2)
    assert _embedded_texts(llm_double) == first

    world.a.description = "Tell the truth, kindly, and stay with them"
    world.a.save()
    stories_generate(deliberation=world.deliberation, run_id="run-3", per_card=1)
    again = _embedded_texts(llm_double)[len(first) :]
    assert len(again) == 1 and "stay with them" in again[0]
