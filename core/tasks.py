"""Celery tasks of core: the one task that runs any registered job."""

import threading

from celery import shared_task

from core.job_worker import job_execute, jobs_sweep


@shared_task(bind=True, name="core.run_job", max_retries=None, acks_late=True)
def run_job(self, job_id: str) -> None:
    """Run the job ``job_id``; retry later (same message, backoff) when its handler asks to."""
    # The solo and prefork pools run a task on a process's main thread; the threads pool does not.
    in_thread_pool = (
        not self.request.is_eager and threading.current_thread() is not threading.main_thread()
    )
    delay = job_execute(
        job_id,
        retries=self.request.retries,
        in_thread_pool=in_thread_pool,
        heartbeat=not self.request.is_eager,
    )
    if delay is not None:
        raise self.retry(countdown=delay)


@shared_task(name="core.sweep_jobs", ignore_result=True)
def sweep_jobs() -> dict[str, list[str]]:
    """Queue again or fail the jobs whose worker died (celery beat runs this periodically)."""
    return jobs_sweep()
