"""A worker's lease on a slot: renewed by the page's heartbeat, given back, reclaimed when it
runs out, and completed by a submit.

A lease runs out after ``project.lease_seconds`` unless the page's heartbeat extends it; expired
or returned leases go back to the pool. A slot stays *live* for its worker while it is leased to
them, or while its lease ran out and nobody else took it yet (reclaiming keeps their name on the
free slot): they get it back on their next request and may still submit it. That rule is written
once for the ORM (``LIVE_STATES``, ``slots_live``) and once for SQL (``LIVE_SLOT_SQL``, built
from the same states); tests/annotation/test_loop_rules.py holds them equal.
"""

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from annotation.models import Item, Project, Slot
from core.errors import ValueLabError
from core.models import User


class LeaseLost(ValueLabError):
    """The worker's lease on the item ran out and its slot went to someone else."""

    status_code = 409


class NotAssigned(ValueLabError):
    """The item was never handed to this worker (or belongs to another project)."""

    status_code = 403


# --- The live-slot rule --------------------------------------------------------------------------

LIVE_STATES = (Slot.State.LEASED, Slot.State.FREE)
# Parameter: the worker's id.
LIVE_SLOT_SQL = "worker_id = %s AND state IN ({})".format(
    ", ".join(f"'{state}'" for state in LIVE_STATES)
)


def slots_live(*, worker: User):
    """Return the slots still the worker's (as ``LIVE_SLOT_SQL``): leased to them, or lapsed
    with their name on them and not yet taken by anyone else."""
    return Slot.objects.filter(worker=worker, state__in=LIVE_STATES)


def slot_done_sql(*, match: str, returning: str) -> str:
    """Return the statement that marks the worker's live slot done, found by the column
    ``match`` (parameters: its value, the worker's id); ``{slot}`` is left to fill."""
    return (
        "\nUPDATE {slot} SET state = 'done', lease_expires = NULL\n"
        f"WHERE {match} = %s AND {LIVE_SLOT_SQL}\n"
        f"RETURNING {returning}\n"
    )


# --- Leases --------------------------------------------------------------------------------------


def lease_fields(project: Project, worker: User, now) -> dict:
    """Return the fields of a slot freshly leased to ``worker`` at ``now``."""
    return {
        "state": Slot.State.LEASED,
        "worker": worker,
        "leased_at": now,
        "lease_expires": now + timedelta(seconds=project.lease_seconds),
    }


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


SLOT_COLUMNS = (
    "id, project_id, item_id, position, state, worker_id, blind, leased_at, lease_expires"
)
COMPLETE_SQL = slot_done_sql(match="item_id", returning=SLOT_COLUMNS)


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
