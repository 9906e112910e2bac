"""Celery tasks of core: the one task that runs any registered job."""

from celery import shared_task

from core.jobs import job_execute


@shared_task(bind=True, name="core.run_job", max_retries=None, acks_late=True)
def run_job(self, job_id: str) -> None:
    """Run the job ``job_id``; retry later (same message, backoff) when its handler asks to."""
    delay = job_execute(job_id, retries=self.request.retries)
    if delay is not None:
        raise self.retry(countdown=delay)
