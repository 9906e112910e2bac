"""Jobs that need a process of their own (torch, transformers) refuse a worker's thread pool."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from core.job_worker import THREAD_POOL_REFUSAL, job_execute
from core.jobs import JOB_TYPES, JobProgress, job_type
from core.models import Job
from core.tasks import run_job
from training.jobs import ALIGN_POLICY, EXPORT_DPO, SCORE_PROJECT, TRAIN_EVALUATOR

RUNS: list[str] = []


@job_type("tests.needs_process", needs_own_process=True)
def load_a_model(job: Job, progress: JobProgress) -> dict:
    RUNS.append(str(job.pk))
    return {"loaded": True}


@pytest.fixture(autouse=True)
def _clear_runs():
    RUNS.clear()


def test_every_training_job_type_needs_a_process_of_its_own():
    kinds = (TRAIN_EVALUATOR, ALIGN_POLICY, SCORE_PROJECT, EXPORT_DPO)
    assert all(JOB_TYPES[kind].needs_own_process for kind in kinds)
    assert not JOB_TYPES["core.llm_check"].needs_own_process


def test_the_task_knows_it_runs_in_a_thread_pool(monkeypatch):
    import core.tasks

    seen = []
    monkeypatch.setattr(core.tasks, "job_execute", lambda job_id, **kw: seen.append(kw))

    with ThreadPoolExecutor(max_workers=1) as pool:  # what `celery worker --pool threads` does
        pool.submit(run_job, "job-1").result()
    run_job("job-2")  # the solo and prefork pools call the task on the main thread

    assert [kw["in_thread_pool"] for kw in seen] == [True, False]


def test_a_training_job_in_a_thread_pool_fails_saying_which_worker_to_start(db):
    job = Job.objects.create(kind="tests.needs_process")

    job_execute(str(job.pk), in_thread_pool=True)

    job.refresh_from_db()
    assert RUNS == []
    assert job.status == Job.Status.FAILED
    assert job.error == THREAD_POOL_REFUSAL
    assert "--pool prefork" in job.error and "make training-worker" in job.error


def test_the_same_job_runs_on_a_process_main_thread(db):
    job = Job.objects.create(kind="tests.needs_process")

    run_job(str(job.pk))  # the solo and prefork pools call the task on the main thread

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert RUNS == [str(job.pk)]
