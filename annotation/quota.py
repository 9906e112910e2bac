"""A worker's standing in a project and their quota: how many regular items they label there.

The quota rule, written once for each way it is read (tests/annotation/test_quota_rule.py holds
them equal):

- A worker's quota in a project is their status's ``quota`` (the items per participant of their
  study's labelling task, fixed when they start), else the project's ``quota_per_worker``; 0
  means no limit. ``worker_quota`` / ``QUOTA_SQL``.
- They are done at their quota: ``quota_reached``.
- A claim of a new regular item wins only while the regular slots bearing their name in the
  project (leased, labelled, or lapsed and not yet taken by anyone else) are fewer than the
  quota: ``quota_slots`` / ``QUOTA_GUARD``, checked inside the claiming statement. Submitting
  turns a leased slot into a done one and leaves that count alone, and the database keeps a
  worker to one lease per project, so two tabs, or a claim racing a submit, cannot take them
  past it (on PostgreSQL the count is the statement's snapshot: only a claim statement that
  outlived another tab's whole claim, labelling and submit could miss one); and the claim stays
  the same one statement, so the k slots per item hold as before.
"""

from django.db import IntegrityError, transaction

from annotation.models import Item, Project, Slot, WorkerStatus
from core.models import User

QUOTA_SQL = "COALESCE(status.quota, project.quota_per_worker)"
QUOTA_SLOTS_SQL = """SELECT COUNT(*) FROM {slot} AS mine
       WHERE mine.worker_id = %s AND mine.project_id = %s AND mine.position IS NOT NULL"""
QUOTA_GUARD = "\n  AND (" + QUOTA_SLOTS_SQL + ") < %s"


def worker_quota(*, project: Project, status: WorkerStatus | None) -> int:
    """Return how many regular items the worker labels in ``project`` before they are done
    (0: no limit): their study's items per participant, else the project's quota."""
    if status is not None and status.quota is not None:
        return status.quota
    return project.quota_per_worker


def quota_reached(*, quota: int, n_done: int) -> bool:
    """Return whether a worker who labelled ``n_done`` items is done at ``quota`` (0: never)."""
    return bool(quota) and n_done >= quota


def quota_slots(*, project: Project, worker: User):
    """Return the slots that count toward the worker's quota in ``project`` (as QUOTA_GUARD)."""
    return Slot.objects.filter(project=project, worker=worker, position__isnull=False)


def quota_guard(quota: int, *, project_id: int, worker_id: int) -> tuple[str, list]:
    """Return the claim's quota condition and its parameters ("" when there is no limit)."""
    if not quota:
        return "", []
    return QUOTA_GUARD, [worker_id, project_id, quota]


def items_per_participant(*, project_id: int, worker: User) -> int | None:
    """Return the items per participant of the labelling task on the project in the worker's
    newest study that has one, or None (no such task, or it leaves it to the project)."""
    from annotation.study_tasks import KIND, config_items_per_participant
    from core.models import StudyTask

    configs = (
        StudyTask.objects.filter(
            kind=KIND, config__project=project_id, study__participations__user=worker
        )
        .order_by("-study__participations__joined", "-pk")
        .values_list("config", flat=True)
    )
    for config in configs[:1]:
        return config_items_per_participant(config)
    return None


def worker_status_for(*, project: Project, worker: User) -> WorkerStatus:
    """Return the worker's status in the project, creating it (in training) on first contact."""
    status = WorkerStatus.objects.filter(project=project, worker=worker).first()
    if status is not None:
        return status
    has_training = Item.objects.filter(project=project, kind="training").exists()
    initial = WorkerStatus.State.TRAINING if has_training else WorkerStatus.State.ACTIVE
    quota = items_per_participant(project_id=project.pk, worker=worker)
    try:
        with transaction.atomic():
            return WorkerStatus.objects.create(
                project=project, worker=worker, state=initial, quota=quota
            )
    except IntegrityError:  # their other tab got there first
        return WorkerStatus.objects.get(project=project, worker=worker)
