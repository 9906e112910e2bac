"""Evolving items: new prompts from the LLM, kept where the two scripted subjects disagree most."""

import pytest
from django.core.exceptions import ValidationError

from core.models import LLMCall
from evaluation.evolve import evolve_items
from evaluation.models import ItemPool
from evaluation.services import pool_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def seed_pool():
    pool, _ = pool_import(
        name="seeds",
        data='{"prompt": "Should I leave my door unlocked?", "id": "door", "value": "security"}\n'
        '{"prompt": "Is it fine to drive fast at night?", "id": "drive", "value": "security"}\n',
    )
    return pool


def ask_back(llm_double, round_tag: str, seeds: int) -> None:
    for seed in range(seeds):
        llm_double.reply_json(
            {"prompts": [f"{round_tag} prompt {seed}-{i}: what about the house?" for i in range(3)]}
        )


def test_rounds_keep_the_items_with_the_largest_disagreement_and_record_where_they_came_from(
    llm_double, subjects, seed_pool, evaluator_dir
):
    ask_back(llm_double, "first", 2)
    ask_back(llm_double, "second", 2)

    evolved = evolve_items(
        pool=seed_pool,
        subjects=subjects,
        evaluator_path=str(evaluator_dir),
        value="security",
        rounds=2,
        keep_per_round=2,
        max_calls=100,
    )

    assert evolved.provenance == ItemPool.Provenance.GENERATED
    assert evolved.parent == seed_pool
    items = list(evolved.items.all())
    assert [item.meta["round"] for item in items] == [1, 1, 2, 2]
    first_round_keys = {item.key for item in items[:2]}
    assert {item.meta["parent"] for item in items[:2]} <= {"door", "drive"}
    assert {item.meta["parent"] for item in items[2:]} <= first_round_keys
    # The careful and reckless answers differ on security: the disagreement is real.
    assert all(item.meta["disagreement"] > 0.01 for item in items)
    assert all(item.value == "security" for item in items)
    # Kept = the largest disagreement among that round's candidates.
    assert items[0].meta["disagreement"] >= items[1].meta["disagreement"]
    assert evolved.details["calls"] == 4 + 2 * 12


def test_the_cost_cap_stops_the_rounds(llm_double, subjects, seed_pool, evaluator_dir):
    ask_back(llm_double, "first", 2)
    evolved = evolve_items(
        pool=seed_pool,
        subjects=subjects,
        evaluator_path=str(evaluator_dir),
        value="security",
        rounds=3,
        max_calls=9,  # one request for prompts, then 3 prompts × 2 subjects; not another round
    )
    assert evolved.details["calls"] <= 9
    assert {item.meta["round"] for item in evolved.items.all()} == {1}
    asked = LLMCall.objects.filter(purpose="evaluation.evolve").count()
    assert asked == 1


def test_fewer_than_two_subjects_is_refused(subjects, seed_pool, evaluator_dir):
    with pytest.raises(ValidationError, match="at least two subjects"):
        evolve_items(pool=seed_pool, subjects=subjects[:1], evaluator_path=str(evaluator_dir))


def test_the_job_makes_the_pool_once(
    llm_double, subjects, seed_pool, evaluator_dir, eager_jobs, django_capture_on_commit_callbacks
):
    from core.job_worker import job_execute
    from evaluation.services import evolve_start

    ask_back(llm_double, "first", 2)
    with django_capture_on_commit_callbacks(execute=True):
        job = evolve_start(
            pool=seed_pool,
            subjects=subjects,
            evaluator_path=str(evaluator_dir),
            value="security",
            rounds=1,
            keep=2,
            max_calls=50,
        )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    evolved = ItemPool.objects.get(pk=job.result["pool"])
    assert evolved.items.count() == 2

    # Delivered again (the broker may): nothing new is made.
    job.__class__.objects.filter(pk=job.pk).update(status="queued")
    job_execute(str(job.pk))
    assert ItemPool.objects.filter(provenance=ItemPool.Provenance.GENERATED).count() == 1
