"""Who labels what next: leases on the k slots of each item, decided by the database.

Each item to label has ``project.overlap`` slots. A worker asking for work claims the free slot
with the lowest id on an item they hold no slot of: on PostgreSQL with ``SELECT … FOR UPDATE
SKIP LOCKED`` (rows locked in id order, other claimers skip them), everywhere with a conditional
``UPDATE … WHERE state = 'free'`` that says whether it won (on SQLite the transaction also holds
the write lock from its start: settings use IMMEDIATE). A unique (item, worker) constraint keeps
a worker to one slot per item even when two of their tabs race. A lease runs out after
``project.lease_seconds`` unless the page's heartbeat extends it; expired or returned leases go
back to the pool. Gold items, training items and attention checks are shown to each worker on
their own, outside the k slots.
"""

import math
import zlib
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, Min, OuterRef, Q
from django.utils import timezone

from annotation.models import Item, Project, Slot, WorkerStatus
from core.errors import ValueLabError
from core.models import User

CLAIM_ATTEMPTS = 4
# A worker told to come back is told to try again at most this soon: leases can be returned
# early (a worker leaves), so waiting for the last one to expire would waste their time.
MAX_RETRY_AFTER = 15
ANALYZE_AFTER = 5000


class LeaseLost(ValueLabError):
    """The worker's lease on the item ran out and its slot went to someone else."""

    status_code = 409


class NotAssigned(ValueLabError):
    """The item was never handed to this worker (or belongs to another project)."""

    status_code = 403


@dataclass(frozen=True)
class NextAnswer:
    """What ``next`` says: a leased slot, or come back in ``retry_after`` seconds, or done."""

    slot: Slot | None = None
    retry_after: int | None = None
    status: WorkerStatus | None = None

    @property
    def done(self) -> bool:
        return self.slot is None and self.retry_after is None


def _is_blind(share: float, *parts: int) -> bool:
    # Deterministic per slot, so a re-run of slots_ensure agrees with what was shown.
    if share <= 0:
        return False
    key = ":".join(str(part) for part in parts).encode()
    return (zlib.crc32(key) % 10_000) / 10_000 < share


# --- Slots ---------------------------------------------------------------------------------------


def task_items(project: Project):
    """Return the project's items that get k slots (not gold, training or attention items)."""
    return Item.objects.filter(project=project, kind="task", is_gold=False)


# One INSERT … SELECT makes the slots of every item that lacks them, item by item (slot ids in
# item order, so claiming in id order fills items one after another). ``blind`` is a fixed hash
# of (item, position) under the project's share; ON CONFLICT makes a concurrent run harmless.
SLOTS_SQL = """
INSERT INTO {slot} (project_id, item_id, position, state, blind)
SELECT item.project_id, item.id, positions.n, 'free',
       ((item.id * 7919 + positions.n * 104729) %% 10000) < %s
FROM {item} AS item CROSS JOIN ({positions}) AS positions
WHERE item.project_id = %s AND item.kind = 'task' AND item.is_gold = %s
  AND NOT EXISTS (
      SELECT 1 FROM {slot} AS existing
      WHERE existing.item_id = item.id AND existing.position = positions.n
  )
ORDER BY item.id, positions.n
ON CONFLICT DO NOTHING
"""


def slots_ensure(*, project: Project) -> int:
    """Create the missing slots (positions 0..overlap-1) of the project's items; return how many.

    Idempotent: slots that exist are left alone.
    """
    quote = connection.ops.quote_name
    positions = " UNION ALL ".join(f"SELECT {n} AS n" for n in range(project.overlap))
    sql = SLOTS_SQL.format(
        slot=quote(Slot._meta.db_table), item=quote(Item._meta.db_table), positions=positions
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [round(project.blind_share * 10_000), project.pk, False])
        created = max(cursor.rowcount, 0)
    if created >= ANALYZE_AFTER and connection.vendor == "postgresql":
        # Fresh statistics, or the planner, guessing a handful of rows, sorts every slot of a
        # 100k-item project on each claim instead of reading the free-slot index in order.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {quote(Slot._meta.db_table)}")
    return created


def _slots_missing(project: Project) -> bool:
    have_all = Slot.objects.filter(item=OuterRef("pk"), position=project.overlap - 1)
    return task_items(project).filter(~Exists(have_all)).exists()


def leases_reclaim(*, project: Project) -> int:
    """Put the project's expired leases on regular slots back in the pool; return how many."""
    expired = Slot.objects.filter(
        project=project,
        state=Slot.State.LEASED,
        lease_expires__lt=timezone.now(),
        position__isnull=False,
    )
    # A read first: the common case (nothing expired) takes no write lock.
    if not expired.exists():
        return 0
    # The worker's name stays on the free slot until someone else claims it: they may still
    # submit it, or get it back on their next request.
    return expired.update(state=Slot.State.FREE, lease_expires=None)


# --- Worker status and quota ---------------------------------------------------------------------

# The quota rule, written once for each way it is read (a test holds them equal):
#
# - A worker's quota in a project is their status's ``quota`` (the items per participant of
#   their study's labelling task, fixed when they start), else the project's
#   ``quota_per_worker``; 0 means no limit. ``worker_quota`` / ``QUOTA_SQL``.
# - They are done at their quota: ``n_done >= quota``.
# - A claim of a new regular item wins only while the regular slots bearing their name in the
#   project (leased, labelled, or lapsed and not yet taken by anyone else) are fewer than the
#   quota: ``quota_slots`` / ``QUOTA_GUARD``, checked inside the claiming statement. Submitting
#   turns a leased slot into a done one and leaves that count alone, and the database keeps a
#   worker to one lease per project, so two tabs, or a claim racing a submit, cannot take them
#   past it (on PostgreSQL the count is the statement's snapshot: only a claim statement that
#   outlived another tab's whole claim, labelling and submit could miss one); and the claim
#   stays the same one statement, so the k slots per item hold as before.
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


# --- Next ----------------------------------------------------------------------------------------


def item_next_for_worker(*, project: Project, worker: User) -> NextAnswer:
    """Lease the worker's next item in ``project`` and return it, or retry-later, or done.

    Asking again while a lease is held returns the same item (a reload, a second tab). Done
    only when every remaining slot is done or is the worker's own, never while others hold
    leases; then also when the worker reached their quota (``worker_quota``) or may no longer
    label.
    """
    status = worker_status_for(project=project, worker=worker)
    if not status.may_label:
        return NextAnswer(status=status)
    now = timezone.now()
    # Its own query, not an EXISTS beside the status: SQLite's planner would scan the project's
    # slots for that instead of the (worker, state) index, milliseconds on a large project.
    current = _current_slot(project=project, worker=worker)
    if current is not None:
        return NextAnswer(slot=current, status=status)

    if status.state == WorkerStatus.State.TRAINING:
        slot = _claim_extra(project=project, worker=worker, kind="training", now=now)
        if slot is not None:
            return NextAnswer(slot=slot, status=status)
        WorkerStatus.objects.filter(pk=status.pk, state=WorkerStatus.State.TRAINING).update(
            state=WorkerStatus.State.ACTIVE
        )
        status.state = WorkerStatus.State.ACTIVE

    quota = worker_quota(project=project, status=status)
    if quota and status.n_done >= quota:
        return NextAnswer(status=status)

    for kind, rate, seen in (
        ("attention", project.attention_rate, status.n_attention),
        ("gold", project.gold_rate, status.n_gold),
    ):
        served = status.n_done + status.n_gold + status.n_attention
        if rate > 0 and seen + 1 <= rate * (served + 1):
            slot = _claim_extra(project=project, worker=worker, kind=kind, now=now)
            if slot is not None:
                return NextAnswer(slot=slot, status=status)

    ensured = reclaimed = False
    for _ in range(CLAIM_ATTEMPTS):
        slot = _claim_regular(project=project, worker=worker, now=now, quota=quota)
        if slot is None and not reclaimed:
            # Expired leases only matter once no free slot is left for this worker.
            reclaimed = True
            if leases_reclaim(project=project):
                continue
        if slot is CONFLICT:
            # Another request of this worker (a second tab) leased an item a moment ago.
            slot = _current_slot(project=project, worker=worker)
            if slot is None:
                continue
        if slot is not None:
            return NextAnswer(slot=slot, status=status)
        remaining = _remaining_for(project=project, worker=worker)
        if remaining["free"]:
            continue  # a slot came free (or was locked by a claim that then lost): try again
        if remaining["leased"]:
            seconds = (remaining["first_expiry"] - timezone.now()).total_seconds()
            return NextAnswer(
                retry_after=max(1, min(MAX_RETRY_AFTER, math.ceil(seconds))), status=status
            )
        if not ensured and _slots_missing(project):
            slots_ensure(project=project)
            ensured = True
            continue
        WorkerStatus.objects.filter(pk=status.pk, finished__isnull=True).update(
            finished=timezone.now()
        )
        return NextAnswer(status=status)
    return NextAnswer(retry_after=1, status=status)


def _current_slot(*, project: Project, worker: User) -> Slot | None:
    """Return the slot the worker holds (renewing its lease), or None."""
    for slot in (
        Slot.objects.filter(
            project=project, worker=worker, state__in=[Slot.State.LEASED, Slot.State.FREE]
        )
        .select_related("item", "item__prelabel")
        .order_by("-state", "pk")  # a live lease before an expired one
    ):
        if _resume(slot=slot, project=project, worker=worker):
            return slot
    return None


def _resume(*, slot: Slot, project: Project, worker: User) -> bool:
    # Conditional: the slot may have gone to someone else since it was read.
    fields = _lease_fields(project, worker, timezone.now())
    try:
        with one_statement():
            won = Slot.objects.filter(
                pk=slot.pk, worker=worker, state__in=[Slot.State.LEASED, Slot.State.FREE]
            ).update(state=fields["state"], lease_expires=fields["lease_expires"])
    except IntegrityError:  # they hold another lease in this project already
        return False
    if won:
        slot.state, slot.lease_expires = fields["state"], fields["lease_expires"]
        if slot.leased_at is None:
            slot.leased_at = fields["leased_at"]
    return bool(won)


def _lease_fields(project: Project, worker: User, now) -> dict:
    return {
        "state": Slot.State.LEASED,
        "worker": worker,
        "leased_at": now,
        "lease_expires": now + timedelta(seconds=project.lease_seconds),
    }


CONFLICT = Slot()  # the claim broke a one-lease-per-worker constraint


def one_statement():
    """Guard one statement that may break a constraint.

    In autocommit mode the statement is its own transaction and a failure leaves nothing behind,
    so it needs no BEGIN/COMMIT round trips; inside a caller's transaction a savepoint keeps the
    failure from breaking it.
    """
    return transaction.atomic() if connection.in_atomic_block else nullcontext()


# One statement claims a slot: the lowest free one on an item the worker holds no slot of. On
# PostgreSQL the inner SELECT locks the row and skips rows other claims hold (SKIP LOCKED); the
# outer WHERE re-checks the state, so a claim that lost a race updates nothing. SQLite runs the
# statement atomically under its write lock. RETURNING needs SQLite 3.35 or PostgreSQL.
CLAIM_SQL = """
UPDATE {slot} SET state = 'leased', worker_id = %s, leased_at = %s, lease_expires = %s
WHERE id = (
    SELECT candidate.id FROM {slot} AS candidate
    WHERE candidate.project_id = %s AND candidate.state = 'free' AND candidate.position < %s
      AND NOT EXISTS (
          SELECT 1 FROM {slot} AS held
          WHERE held.item_id = candidate.item_id AND held.worker_id = %s
          LIMIT 1 OFFSET 0  -- a fence: one probe per candidate, not a scan of all they hold
      )
    ORDER BY candidate.id + 0  -- the order of the slot_queue index (Slot.Meta)
    LIMIT 1{lock}
) AND state = 'free'{quota}
RETURNING {returning}
"""


def _claim_regular(*, project: Project, worker: User, now, quota: int = 0) -> Slot | None:
    now = timezone.now()
    fields = _lease_fields(project, worker, now)
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    guard, guard_params = quota_guard(quota, project_id=project.pk, worker_id=worker.pk)
    table = connection.ops.quote_name(Slot._meta.db_table)
    sql = CLAIM_SQL.format(slot=table, lock=lock, returning="id", quota=guard.format(slot=table))
    adapt = connection.ops.adapt_datetimefield_value
    params = [
        worker.pk,
        adapt(fields["leased_at"]),
        adapt(fields["lease_expires"]),
        project.pk,
        project.overlap,
        worker.pk,
        *guard_params,
    ]
    try:
        with one_statement(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    except IntegrityError:
        return CONFLICT
    if row is None:
        return None
    return _slot_with_item(row[0])


def _slot_with_item(slot_id: int) -> Slot:
    return Slot.objects.select_related("item", "item__prelabel").get(pk=slot_id)


def _remaining_for(*, project: Project, worker: User) -> dict:
    worker_holds_item = Slot.objects.filter(item_id=OuterRef("item_id"), worker=worker)
    # One statement, one snapshot: a slot moving from leased to free between two queries
    # must not make both look empty.
    return (
        Slot.objects.filter(
            project=project,
            position__lt=project.overlap,
            state__in=[Slot.State.FREE, Slot.State.LEASED],
        )
        .filter(~Exists(worker_holds_item))
        .aggregate(
            free=Count("pk", filter=Q(state=Slot.State.FREE)),
            leased=Count("pk", filter=Q(state=Slot.State.LEASED)),
            first_expiry=Min("lease_expires"),
        )
    )


def items_to_label_for_worker(*, project: Project, worker: User, most: int | None = None) -> int:
    """Return how many more items ``worker`` could label in ``project`` (the one leased to them
    included), counting at most ``most`` (None: all): the "of N" of their progress."""
    regular = Q(position__lt=project.overlap, item__kind="task", item__is_gold=False)
    held = Slot.objects.filter(regular, project=project, worker=worker, state=Slot.State.LEASED)
    held = held.exists()
    worker_holds_item = Slot.objects.filter(item_id=OuterRef("item_id"), worker=worker)
    open_items = (
        Slot.objects.filter(
            regular, project=project, state__in=[Slot.State.FREE, Slot.State.LEASED]
        )
        .filter(~Exists(worker_holds_item))
        .values("item_id")
        .distinct()
    )
    if most is not None:
        open_items = open_items[: max(0, most - held)]
    return int(held) + open_items.count()


def _claim_extra(*, project: Project, worker: User, kind: str, now) -> Slot | None:
    """Lease the worker an unseen item of ``kind`` (training, attention or gold), or None."""
    items = Item.objects.filter(project=project)
    items = items.filter(is_gold=True, kind="task") if kind == "gold" else items.filter(kind=kind)
    seen = Slot.objects.filter(item=OuterRef("pk"), worker=worker)
    item_id = items.filter(~Exists(seen)).order_by("pk").values_list("pk", flat=True).first()
    if item_id is None:
        return None
    blind = kind == "attention" or (
        kind == "gold" and _is_blind(project.blind_share, item_id, worker.pk)
    )
    try:
        with transaction.atomic():
            slot = Slot.objects.create(
                project=project, item_id=item_id, blind=blind, **_lease_fields(project, worker, now)
            )
    except IntegrityError:
        return _current_slot(project=project, worker=worker)
    return _slot_with_item(slot.pk)


# --- Leases --------------------------------------------------------------------------------------


def lease_extend(*, slot: Slot, project: Project) -> Slot:
    """Extend the lease on ``slot`` by the project's lease time (the page's heartbeat)."""
    expires = timezone.now() + timedelta(seconds=project.lease_seconds)
    Slot.objects.filter(pk=slot.pk, state=Slot.State.LEASED).update(lease_expires=expires)
    slot.lease_expires = expires
    return slot


def lease_for_worker(*, item: Item, worker: User) -> Slot:
    """Return the worker's leased slot on ``item``; raise ``NotAssigned`` or ``LeaseLost``."""
    slot = Slot.objects.filter(item=item, worker=worker).first()
    if slot is None:
        raise NotAssigned("This item is not leased to you.", field="item")
    if slot.state != Slot.State.LEASED:
        raise LeaseLost("This item is no longer leased to you.", field="item")
    return slot


def lease_heartbeat(*, item: Item, worker: User) -> Slot:
    """Extend the worker's lease on ``item``; raise ``NotAssigned``/``LeaseLost`` if none."""
    slot = lease_for_worker(item=item, worker=worker)
    return lease_extend(slot=slot, project=item.project)


def lease_release(*, item: Item, worker: User) -> bool:
    """Give the worker's lease on ``item`` back to the pool; return whether one was held.

    Idempotent: releasing twice, or an item already labelled, changes nothing.
    """
    held = Slot.objects.filter(item=item, worker=worker, state=Slot.State.LEASED)
    freed = held.filter(position__isnull=False).update(
        state=Slot.State.FREE, worker=None, leased_at=None, lease_expires=None
    )
    deleted, _ = held.filter(position__isnull=True).delete()
    return bool(freed or deleted)


COMPLETE_SQL = """
UPDATE {slot} SET state = 'done', lease_expires = NULL
WHERE item_id = %s AND worker_id = %s AND state IN ('leased', 'free')
RETURNING id, project_id, item_id, position, state, worker_id, blind, leased_at, lease_expires
"""


def slot_complete(*, item: Item, worker: User) -> Slot:
    """Mark the worker's slot on ``item`` done (inside the caller's transaction) and return it.

    A lease that ran out but whose slot nobody else took yet is honoured (reclaiming keeps the
    worker's name on the free slot until another worker claims it), so a slow worker's labels
    are not thrown away. Raise ``NotAssigned`` when the item is not theirs (never was, or
    their place went to someone else).
    """
    # One statement marks the slot done and returns it (RETURNING: SQLite 3.35, PostgreSQL).
    sql = COMPLETE_SQL.format(slot=connection.ops.quote_name(Slot._meta.db_table))
    done = list(Slot.objects.raw(sql, [item.pk, worker.pk]))
    if done:
        return done[0]
    raise NotAssigned(
        "This item is not leased to you (or your time on it ran out and someone else took it).",
        field="item",
    )


# --- Exclusion -----------------------------------------------------------------------------------


def worker_slots_reopen(*, project: Project, worker: User) -> int:
    """Give every regular slot the worker holds or filled in ``project`` back to the pool."""
    return Slot.objects.filter(project=project, worker=worker, position__isnull=False).update(
        state=Slot.State.FREE, worker=None, leased_at=None, lease_expires=None
    )
