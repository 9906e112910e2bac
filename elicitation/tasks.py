"""Celery tasks of elicitation: the periodic starts of de-duplication and grading jobs.

The job types themselves are registered by ``elicitation.jobs`` in the app's ``ready()``.
"""

from celery import shared_task

from elicitation.dedup import dedup_schedule
from elicitation.grading import grading_schedule


@shared_task(name="elicitation.dedup_scheduled", ignore_result=True)
def dedup_scheduled() -> None:
    """Celery beat: start a de-duplication job for each deliberation with new cards."""
    dedup_schedule()


@shared_task(name="elicitation.grade_scheduled", ignore_result=True)
def grade_scheduled() -> None:
    """Celery beat: start a grading job when finished interviews wait for a grade."""
    grading_schedule()
