"""De-duplication runs: embeddings stored, the LLM confirms, decisions recorded, runs incremental.

The loopback double embeds texts as hashed bags of words, so cards sharing most of their words
are near-duplicates and cards sharing none are far apart.
"""

import json

import pytest
from django.core.exceptions import ValidationError

from core.models import Job
from elicitation.dedup import (
    SAME_VALUE_PROMPT_VERSION,
    card_merge_by_researcher,
    card_split,
    clusters_for_deliberation,
    dedup_run,
    dedup_schedule,
    dedup_start,
)
from elicitation.models import CardEmbedding, DedupDecision
from tests.elicitation.factories import DeliberationFactory, ValuesCardFactory

pytestmark = pytest.mark.django_db

HONESTY = {
    "title": "Kind honesty",
    "description": "Tell the person the truth gently so they can choose well.",
    "policies": ["TRUTHS the person needs to hear", "WORDS that soften hard news"],
}
HONESTY_AGAIN = {
    "title": "Kind honesty",
    "description": "Tell the person the truth gently so they can choose.",
    "policies": ["TRUTHS the person needs to hear", "WORDS that soften hard news"],
}
CURIOSITY = {
    "title": "Playful curiosity",
    "description": "Spark wonder about unexplored hobbies and games.",
    "policies": ["QUESTIONS that open new worlds", "MOMENTS of delight"],
}


@pytest.fixture
def deliberation():
    return DeliberationFactory(name="abortion")


def _card(deliberation, fields, **extra):
    return ValuesCardFactory(deliberation=deliberation, **fields, **extra)


def test_near_duplicates_are_merged_after_the_llm_agrees_and_keep_their_own_words(
    deliberation, llm_double
):
    first = _card(deliberation, HONESTY)
    second = _card(deliberation, HONESTY_AGAIN)
    other = _card(deliberation, CURIOSITY)
    llm_double.reply_json({"same": True, "reason": "Both are about gentle truth-telling."})

    summary = dedup_run(deliberation=deliberation, threshold=0.8)

    second.refresh_from_db()
    other.refresh_from_db()
    assert second.canonical_id == first.pk
    assert second.description == HONESTY_AGAIN["description"]  # the author's wording stays
    assert other.canonical_id is None
    assert summary["merged"] == 1 and summary["llm_questions"] == 1
    decision = DedupDecision.objects.get()
    assert (decision.card, decision.other, decision.action, decision.source) == (
        second,
        first,
        "merge",
        "llm",
    )
    assert decision.reason == "Both are about gentle truth-telling."
    assert decision.similarity > 0.8
    assert decision.prompt_version == SAME_VALUE_PROMPT_VERSION
    question = llm_double.chat_requests[0]["messages"][-1]["content"]
    assert "so they can choose well" in question and "so they can choose." in question


def test_a_no_from_the_llm_keeps_the_cards_apart_and_is_not_asked_again(deliberation, llm_double):
    first = _card(deliberation, HONESTY)
    second = _card(deliberation, HONESTY_AGAIN)
    llm_double.reply_json({"same": False, "reason": "One is about choosing well."})

    dedup_run(deliberation=deliberation, threshold=0.8)
    again = dedup_run(deliberation=deliberation, threshold=0.8)

    second.refresh_from_db()
    assert second.canonical_id is None
    decision = DedupDecision.objects.get()
    assert (decision.card, decision.other, decision.action) == (second, first, "distinct")
    assert decision.reason == "One is about choosing well."
    assert len(llm_double.chat_requests) == 1
    assert again["new"] == 0 and again["embedded"] == 0


def test_a_second_run_embeds_and_compares_only_the_new_card(deliberation, llm_double):
    first = _card(deliberation, HONESTY)
    _card(deliberation, CURIOSITY)
    dedup_run(deliberation=deliberation, threshold=0.8)
    assert len(llm_double.embedding_requests) == 1
    llm_double.reset()
    newcomer = _card(deliberation, HONESTY_AGAIN)
    llm_double.reply_json({"same": True, "reason": "Same gentle honesty."})

    summary = dedup_run(deliberation=deliberation, threshold=0.8)

    assert [r["input"] for r in llm_double.embedding_requests] == [
        [
            "\n".join(
                [HONESTY_AGAIN["title"], HONESTY_AGAIN["description"], *HONESTY_AGAIN["policies"]]
            )
        ]
    ]
    assert summary["embedded"] == 1 and summary["new"] == 1
    newcomer.refresh_from_db()
    assert newcomer.canonical_id == first.pk


def test_a_card_whose_wording_changed_is_embedded_again(deliberation, llm_double):
    card = _card(deliberation, CURIOSITY)
    dedup_run(deliberation=deliberation)
    before = bytes(CardEmbedding.objects.get(card=card).vector)

    card.title = "Wonder at hobbies"
    card.save()
    summary = dedup_run(deliberation=deliberation)

    assert summary["embedded"] == 1
    assert bytes(CardEmbedding.objects.get(card=card).vector) != before


def test_an_unreadable_verdict_leaves_the_card_for_the_next_run(deliberation, llm_double):
    _card(deliberation, HONESTY)
    second = _card(deliberation, HONESTY_AGAIN)
    llm_double.malformed().malformed().malformed()

    summary = dedup_run(deliberation=deliberation, threshold=0.8)

    assert summary["merged"] == 0 and summary["left_for_next_run"] == 2  # both new cards
    assert not DedupDecision.objects.exists()
    llm_double.reply_json({"same": True, "reason": "Same."})
    assert dedup_run(deliberation=deliberation, threshold=0.8)["merged"] == 1
    second.refresh_from_db()
    assert second.canonical_id is not None


def test_researcher_split_and_merge_are_recorded_with_reasons_and_respected_by_runs(
    deliberation, llm_double, rita
):
    first = _card(deliberation, HONESTY)
    second = _card(deliberation, HONESTY_AGAIN)
    llm_double.reply_json({"same": True, "reason": "Same."})
    dedup_run(deliberation=deliberation, threshold=0.8)

    with pytest.raises(ValidationError) as error:
        card_split(card=second, researcher=rita, reason="  ")
    assert "reason" in error.value.message_dict
    card_split(card=second, researcher=rita, reason="Hers is about choice, not kindness.")
    card_split(card=second, researcher=rita, reason="double click")  # idempotent
    dedup_run(deliberation=deliberation, threshold=0.8)

    second.refresh_from_db()
    assert second.canonical_id is None
    split = DedupDecision.objects.filter(action="split").get()
    assert (split.source, split.decided_by, split.other) == ("researcher", rita, first)
    assert split.reason == "Hers is about choice, not kindness."
    assert split.similarity > 0.8

    card_merge_by_researcher(card=second, into=first, researcher=rita, reason="Changed my mind.")
    card_merge_by_researcher(card=second, into=first, researcher=rita, reason="double click")
    second.refresh_from_db()
    assert second.canonical_id == first.pk
    assert DedupDecision.objects.filter(action="merge", source="researcher").count() == 1


def test_clusters_list_canonicals_biggest_first_with_member_similarity(deliberation, llm_double):
    first = _card(deliberation, HONESTY)
    second = _card(deliberation, HONESTY_AGAIN)
    lonely = _card(deliberation, CURIOSITY)
    llm_double.reply_json({"same": True, "reason": "Same."})
    dedup_run(deliberation=deliberation, threshold=0.8)

    clusters = clusters_for_deliberation(deliberation=deliberation)

    assert [c.canonical for c in clusters] == [first, lonely]
    ((member, similarity),) = clusters[0].members
    assert member == second and similarity > 0.8
    assert [
        c.canonical for c in clusters_for_deliberation(deliberation=deliberation, min_size=2)
    ] == [first]


def test_dedup_runs_as_a_job_and_the_schedule_starts_one_per_deliberation_with_work(
    deliberation, llm_double, eager_jobs, django_capture_on_commit_callbacks, rita
):
    _card(deliberation, HONESTY)
    _card(deliberation, HONESTY_AGAIN)
    idle = DeliberationFactory(name="idle")
    llm_double.reply_json({"same": True, "reason": "Same."})

    with django_capture_on_commit_callbacks(execute=True):
        job = dedup_start(deliberation=deliberation, created_by=rita, threshold=0.8, token="k1")
        assert dedup_start(deliberation=deliberation, created_by=rita, token="k1") == job

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["merged"] == 1
    assert DedupDecision.objects.get().job == job

    assert dedup_schedule() == []  # nothing new anywhere
    _card(idle, CURIOSITY)
    with django_capture_on_commit_callbacks(execute=True):
        started = dedup_schedule()
        assert dedup_schedule() == started  # the same ten minutes: the same job
    assert [j.params["deliberation"] for j in started] == [idle.pk]
    assert json.dumps(started[0].params)


def test_a_card_joined_through_another_member_records_which_verdict_joined_it(
    deliberation, llm_double
):
    settled = _card(deliberation, HONESTY)
    dedup_run(deliberation=deliberation, threshold=0.8)
    twin = _card(deliberation, {**HONESTY_AGAIN, "title": "Twin"})
    other_twin = _card(deliberation, {**HONESTY_AGAIN, "title": "Twin"})
    llm_double.reply_json({"same": True, "reason": "The twins say the same."})
    llm_double.reply_json({"same": True, "reason": "Same as the settled card."})

    dedup_run(deliberation=deliberation, threshold=0.8)

    reasons = dict(DedupDecision.objects.values_list("card", "reason"))
    assert reasons == {
        twin.pk: "Same as the settled card.",
        other_twin.pk: "Via “Twin” and “Kind honesty”: Same as the settled card.",
    }
    assert {c.canonical_id for c in (twin, other_twin) if not c.refresh_from_db()} == {settled.pk}


def test_a_new_card_judged_different_from_a_settled_one_carries_the_decision(
    deliberation, llm_double
):
    settled = _card(deliberation, HONESTY)
    dedup_run(deliberation=deliberation, threshold=0.8)
    newcomer = _card(deliberation, HONESTY_AGAIN)
    llm_double.reply_json({"same": False, "reason": "Choosing well is not choosing."})

    dedup_run(deliberation=deliberation, threshold=0.8)

    decision = DedupDecision.objects.get()
    assert (decision.card, decision.other, decision.action) == (newcomer, settled, "distinct")


def test_a_job_for_a_deleted_deliberation_fails_saying_so(
    deliberation, eager_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = dedup_start(deliberation=deliberation)  # it runs at commit, after the delete
        deliberation.delete()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error == "The deliberation no longer exists."


def test_the_schedule_leaves_a_deliberation_alone_while_its_run_is_under_way(deliberation):
    _card(deliberation, HONESTY)
    running = dedup_start(deliberation=deliberation)  # queued: never run in this test

    assert dedup_schedule() == []
    Job.objects.filter(pk=running.pk).update(status=Job.Status.SUCCEEDED)
    assert [job.params["deliberation"] for job in dedup_schedule()] == [deliberation.pk]
