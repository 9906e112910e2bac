"""Run logs: the metrics and lines a training job writes as it goes."""

from django.db import transaction

from core.models import Job
from training.models import RunLog


def run_log_append(*, job: Job, metrics: dict | None = None, line: str | None = None) -> None:
    """Add a metrics row and/or a log line to the job's run log (created on first use)."""
    with transaction.atomic():
        log, _created = RunLog.objects.select_for_update().get_or_create(job=job)
        if metrics is not None:
            log.metrics = [*log.metrics, metrics]
        if line is not None:
            log.lines = [*log.lines, line][-500:]
        log.save(update_fields=["metrics", "lines", "updated"])
