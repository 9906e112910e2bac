"""Who labels what next: a worker's next item, claimed on the k slots of each item by the database.

Each item to label has ``project.overlap`` slots (``annotation.slots``). A worker asking for work
claims the free slot with the lowest id on an item they hold no slot of: on PostgreSQL with
``SELECT … FOR UPDATE SKIP LOCKED`` (rows locked in id order, other claimers skip them),
everywhere with a conditional ``UPDATE … WHERE state = 'free'`` that says whether it won (on
SQLite the transaction also holds the write lock from its start: settings use IMMEDIATE). A
unique (item, worker) constraint keeps a worker to one slot per item even when two of their tabs
race. Which slots a claim may take is written once for SQL (``CLAIMABLE_SQL``) and once for the
ORM (``slots_claimable``); tests/annotation/test_loop_rules.py holds them equal. Leases, their
renewal and completion are ``annotation.leases``; the worker's standing and quota
``annotation.quota``. Gold items, training items and attention checks are shown to each worker
on their own, outside the k slots.
"""

import math
import zlib
from contextlib import nullcontext
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, Min, OuterRef, Q
from django.utils import timezone

from annotation.leases import lease_fields, leases_reclaim, slots_live
from annotation.models import Item, Project, Slot, WorkerStatus
from annotation.quota import quota_guard, quota_reached, worker_quota, worker_status_for
from annotation.slots import slots_ensure, slots_missing
from core.models import User

CLAIM_ATTEMPTS = 4
# A worker told to come back is told to try again at most this soon: leases can be returned
# early (a worker leaves), so waiting for the last one to expire would waste their time.
MAX_RETRY_AFTER = 15
# The slots an item still has to give: free, or leased to someone who may yet label it.
OPEN_STATES = (Slot.State.FREE, Slot.State.LEASED)


@dataclass(frozen=True)
class NextAnswer:
    """What ``next`` says: a leased slot, or come back in ``retry_after`` seconds, or done."""

    slot: Slot | None = None
    retry_after: int | None = None
    status: WorkerStatus | None = None

    @property
    def done(self) -> bool:
        return self.slot is None and self.retry_after is None


def extra_due(*, rate: float, seen: int, served: int) -> bool:
    """Return whether a gold item or attention check is due: the worker saw ``seen`` of them
    among ``served`` items, and the next would keep them at or under the project's ``rate``."""
    return rate > 0 and seen + 1 <= rate * (served + 1)


def _is_blind(share: float, *parts: int) -> bool:
    # Deterministic per slot, so a re-run of slots_ensure agrees with what was shown.
    if share <= 0:
        return False
    key = ":".join(str(part) for part in parts).encode()
    return (zlib.crc32(key) % 10_000) / 10_000 < share


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
    if quota_reached(quota=quota, n_done=status.n_done):
        return NextAnswer(status=status)

    for kind, rate, seen in (
        ("attention", project.attention_rate, status.n_attention),
        ("gold", project.gold_rate, status.n_gold),
    ):
        served = status.n_done + status.n_gold + status.n_attention
        if extra_due(rate=rate, seen=seen, served=served):
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
        if not ensured and slots_missing(project):
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
        slots_live(worker=worker)
        .filter(project=project)
        .select_related("item", "item__prelabel")
        .order_by("-state", "pk")  # a live lease before an expired one
    ):
        if _resume(slot=slot, project=project, worker=worker):
            return slot
    return None


def _resume(*, slot: Slot, project: Project, worker: User) -> bool:
    # Conditional: the slot may have gone to someone else since it was read.
    fields = lease_fields(project, worker, timezone.now())
    try:
        with one_statement():
            won = (
                slots_live(worker=worker)
                .filter(pk=slot.pk)
                .update(state=fields["state"], lease_expires=fields["lease_expires"])
            )
    except IntegrityError:  # they hold another lease in this project already
        return False
    if won:
        slot.state, slot.lease_expires = fields["state"], fields["lease_expires"]
        if slot.leased_at is None:
            slot.leased_at = fields["leased_at"]
    return bool(won)


CONFLICT = Slot()  # the claim broke a one-lease-per-worker constraint


def one_statement():
    """Guard one statement that may break a constraint.

    In autocommit mode the statement is its own transaction and a failure leaves nothing behind,
    so it needs no BEGIN/COMMIT round trips; inside a caller's transaction a savepoint keeps the
    failure from breaking it.
    """
    return transaction.atomic() if connection.in_atomic_block else nullcontext()


# The claimable-slot rule: a free regular slot (position below the overlap) of the project on
# an item the worker holds no slot of (in any state). Parameters: the project's id, its overlap,
# the worker's id. The ORM's reading is ``slots_claimable``.
CLAIMABLE_SQL = """candidate.project_id = %s AND candidate.state = 'free'
      AND candidate.position < %s
      AND NOT EXISTS (
          SELECT 1 FROM {slot} AS held
          WHERE held.item_id = candidate.item_id AND held.worker_id = %s
          LIMIT 1 OFFSET 0  -- a fence: one probe per candidate, not a scan of all they hold
      )"""

# One statement claims a slot: the lowest claimable one. On PostgreSQL the inner SELECT locks
# the row and skips rows other claims hold (SKIP LOCKED); the outer WHERE re-checks the state,
# so a claim that lost a race updates nothing. SQLite runs the statement atomically under its
# write lock. RETURNING needs SQLite 3.35 or PostgreSQL.
CLAIM_SQL = """
UPDATE {slot} SET state = 'leased', worker_id = %s, leased_at = %s, lease_expires = %s
WHERE id = (
    SELECT candidate.id FROM {slot} AS candidate
    WHERE {claimable}
    ORDER BY candidate.id + 0  -- the order of the slot_queue index (Slot.Meta)
    LIMIT 1{lock}
) AND state = 'free'{quota}
RETURNING {returning}
""".replace("{claimable}", CLAIMABLE_SQL)


def slots_claimable(*, project: Project, worker: User, states=(Slot.State.FREE,)):
    """Return the project's regular slots in ``states`` on items ``worker`` holds no slot of.

    With the default state: the slots ``CLAIMABLE_SQL`` lets them claim (a claim takes the
    lowest id); with free and leased ones, what is still open to them.
    """
    worker_holds_item = Slot.objects.filter(item_id=OuterRef("item_id"), worker=worker)
    return Slot.objects.filter(
        project=project, position__lt=project.overlap, state__in=states
    ).filter(~Exists(worker_holds_item))


def _claim_regular(*, project: Project, worker: User, now, quota: int = 0) -> Slot | None:
    now = timezone.now()
    fields = lease_fields(project, worker, now)
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
    # One statement, one snapshot: a slot moving from leased to free between two queries
    # must not make both look empty.
    return slots_claimable(project=project, worker=worker, states=OPEN_STATES).aggregate(
        free=Count("pk", filter=Q(state=Slot.State.FREE)),
        leased=Count("pk", filter=Q(state=Slot.State.LEASED)),
        first_expiry=Min("lease_expires"),
    )


def items_to_label_for_worker(*, project: Project, worker: User, most: int | None = None) -> int:
    """Return how many more items ``worker`` could label in ``project`` (the one leased to them
    included), counting at most ``most`` (None: all): the "of N" of their progress."""
    regular = Q(position__lt=project.overlap, item__kind="task", item__is_gold=False)
    held = Slot.objects.filter(regular, project=project, worker=worker, state=Slot.State.LEASED)
    held = held.exists()
    open_items = (
        slots_claimable(project=project, worker=worker, states=OPEN_STATES)
        .filter(regular)
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
                project=project, item_id=item_id, blind=blind, **lease_fields(project, worker, now)
            )
    except IntegrityError:
        return _current_slot(project=project, worker=worker)
    return _slot_with_item(slot.pk)
