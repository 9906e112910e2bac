"""The annotate loop's two requests — next item, submit labels — in as few statements as it takes.

A crowd of workers spends its day in these two requests, so the common case is written out in
SQL: one statement reads everything the request needs (the project, the worker's membership and
standing, their open lease; for a submit also the item, its pre-label and the worker's slot),
and one statement does the work (on PostgreSQL a claim that also returns the item; a submit that
marks the slot done, stores the annotation and moves the worker's counters, all or nothing).

Anything out of the common way — a worker in training or stopped, a gold item or attention
check due, a lease already held, no free slot, a flag to raise, bad labels, an item not theirs —
goes to the general functions (``item_next_for_worker``, ``annotation_submit``), which decide
the same things with the ORM and say what is wrong. Both paths store the same rows; the tests
run each case through the API. The statements are ``annotation.loop_sql``'s; each rule in them
has one source shared with the ORM's side (see that module).
"""

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from annotation.assignment import NextAnswer, extra_due, item_next_for_worker, one_statement
from annotation.labelling import (
    dimension_keys_cached,
    leased_item_payload,
    worker_may_label,
    worker_may_label_with_membership,
)
from annotation.leases import LIVE_STATES
from annotation.loop_sql import (
    CLAIM_UPDATE,
    CLAIM_WITH_ITEM_SQL,
    COMPLETE_SLOT,
    COUNT_STATUS,
    INSERT_ANNOTATION,
    ITEM_SQL,
    NEXT_CONTEXT_SQL,
    RENEW_RELAXED_WITH_ITEM_SQL,
    RENEW_UPDATE,
    RENEW_WITH_ITEM_SQL,
    SUBMIT_CONTEXT_SQL,
    SUBMIT_SQL,
    tables,
)
from annotation.models import Annotation, Item, Project, WorkerStatus
from annotation.quality import STREAK_UP, QualityOutcome, habit_review
from annotation.quota import quota_guard, quota_reached
from annotation.services import (
    SubmitResult,
    annotation_submit,
    labels_clean,
    prelabel_kept,
    seconds_spent,
)
from annotation.study_tasks import KIND as LABEL_TASK
from core.db import fetch_one
from core.models import User
from core.selectors import task_order_check

LABELLING_STATES = (WorkerStatus.State.ACTIVE, WorkerStatus.State.WARNED)

# SQLite lets one writer in at a time; a thread that finds the lock taken sleeps in SQLite's
# busy handler (1, 2, 5, 10… ms), long after the lock came free. The threads of one server
# process queue here instead and go in as soon as it is their turn.
_sqlite_writes = threading.Lock()


def _dimension_keys(scheme_id: int, scheme_created) -> list[str]:
    return dimension_keys_cached(scheme_id=scheme_id, created=_moment(scheme_created))


def _json(value):
    # PostgreSQL's driver hands jsonb over as text under Django (as SQLite does); None stays.
    return json.loads(value) if isinstance(value, str | bytes) else value


def _moment(value) -> datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else parse_datetime(value)
    # SQLite keeps UTC without a zone.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# --- Next ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NextResult:
    """What the API answers: the item's payload, or retry later, or done."""

    item: dict | None = None
    retry_after: int | None = None


def next_for_worker(*, project_id: int, worker: User) -> NextResult:
    """Lease the worker's next item in the project (the API's ``next``); raise 404 / 403.

    The common case — an active worker, no lease held, nothing special due — is two statements
    on PostgreSQL (three on SQLite); everything else is ``item_next_for_worker``'s.
    """
    names = tables()
    row = fetch_one(NEXT_CONTEXT_SQL.format(**names), [worker.pk] * 4 + [project_id])
    if row is None:
        raise Http404("No such project.")
    (scheme_id, scheme_created, study_id, overlap, lease_seconds, quota, gold_rate,
     attention_rate, member,
     state, n_done, n_gold, n_attention, holds_lease, lapsed) = row  # fmt: skip
    if not worker_may_label_with_membership(
        user=worker, project_id=project_id, study_id=study_id, own_study_member=member
    ):
        raise PermissionDenied("You have not joined the study this project belongs to.")
    if state is None:  # first contact: only once the tasks before this one are done (409)
        task_order_check(user=worker, kind=LABEL_TASK, target=project_id)
    if holds_lease and state is not None and WorkerStatus(state=state).may_label:
        # A reload, a second tab: the same item, its lease renewed.
        renewed = _renew_with_item(
            names, worker=worker, project_id=project_id, seconds=lease_seconds
        )
        if renewed is not None:
            return NextResult(
                item={**renewed, "dimensions": _dimension_keys(scheme_id, scheme_created)}
            )
    served = (n_done or 0) + (n_gold or 0) + (n_attention or 0)
    common = (
        state in LABELLING_STATES
        and not holds_lease
        and not lapsed
        and not quota_reached(quota=quota, n_done=n_done)
        and not extra_due(rate=attention_rate, seen=n_attention or 0, served=served)
        and not extra_due(rate=gold_rate, seen=n_gold or 0, served=served)
    )
    if common:
        claimed = _claim_with_item(
            names,
            worker=worker,
            project_id=project_id,
            overlap=overlap,
            seconds=lease_seconds,
            quota=quota,
        )
        if claimed is not None:
            return NextResult(
                item={**claimed, "dimensions": _dimension_keys(scheme_id, scheme_created)}
            )
    # The general way: it also answers retry-later and done, and re-checks what it needs.
    project = Project.objects.select_related("scheme").get(pk=project_id)
    answer: NextAnswer = item_next_for_worker(project=project, worker=worker)
    if answer.slot is not None:
        return NextResult(item=leased_item_payload(slot=answer.slot, project=project))
    return NextResult(retry_after=answer.retry_after)


def _claim_with_item(
    names, *, worker: User, project_id: int, overlap: int, seconds: int, quota: int
):
    now = timezone.now()
    expires = now + timedelta(seconds=seconds)
    adapt = connection.ops.adapt_datetimefield_value
    guard, guard_params = quota_guard(quota, project_id=project_id, worker_id=worker.pk)
    guard = guard.format(**names)
    params = [worker.pk, adapt(now), adapt(expires), project_id, overlap, worker.pk, *guard_params]
    postgres = connection.vendor == "postgresql"
    lock = " FOR UPDATE SKIP LOCKED" if postgres else ""
    try:
        if postgres:
            with one_statement():
                sql = CLAIM_WITH_ITEM_SQL.format(lock=lock, quota=guard, **names)
                row = fetch_one(sql, params)
        else:
            # SQLite has no UPDATE inside WITH: claim, then read (both in-process).
            with _sqlite_writes, one_statement(), connection.cursor() as cursor:
                cursor.execute(CLAIM_UPDATE.format(lock=lock, quota=guard, **names), params)
                claim = cursor.fetchone()
                row = None
                if claim is not None:
                    cursor.execute(ITEM_SQL.format(**names), [claim[1]])
                    row = (*claim, *cursor.fetchone())
    except IntegrityError:
        return None  # another tab of this worker won a lease a moment ago: the general way
    return None if row is None else _leased_payload(row, expires)


def _renew_with_item(names, *, worker: User, project_id: int, seconds: int):
    """Renew the worker's lease in the project and return its item's payload (None: no lease)."""
    expires = timezone.now() + timedelta(seconds=seconds)
    params = [connection.ops.adapt_datetimefield_value(expires), project_id, worker.pk]
    if connection.vendor == "postgresql":
        sql = RENEW_WITH_ITEM_SQL if connection.in_atomic_block else RENEW_RELAXED_WITH_ITEM_SQL
        row = fetch_one(sql.format(**names), params)
    else:
        with _sqlite_writes, connection.cursor() as cursor:
            cursor.execute(RENEW_UPDATE.format(**names), params)
            renewed = cursor.fetchone()
            row = None
            if renewed is not None:
                cursor.execute(ITEM_SQL.format(**names), [renewed[1]])
                row = (*renewed, *cursor.fetchone())
    return None if row is None else _leased_payload(row, expires)


def _leased_payload(row, expires) -> dict:
    """The API's view of a leased item (as ``leased_item_payload``, less the dimensions)."""
    _slot_id, item_id, blind, _expires, kind, prompt, response, labels, rationale, rationales = row
    shown = labels is not None and not blind and kind != "attention"
    return {
        "id": item_id,
        "kind": "training" if kind == "training" else "task",
        "prompt": prompt,
        "response": response,
        "prelabel": (
            {"labels": _json(labels), "rationale": rationale, "rationales": _json(rationales)}
            if shown
            else None
        ),
        "lease_expires": expires,
    }


# --- Submit --------------------------------------------------------------------------------------


def submit_for_worker(
    *,
    item_id: int,
    worker: User,
    labels: object,
    seconds: float | None = None,
    project_id: int | None = None,
) -> SubmitResult:
    """Store the worker's labels for the item (the API's submit); as ``annotation_submit``.

    The common case — a regular item leased to an active worker, labels that raise no flag — is
    two statements on PostgreSQL; everything else (and every error) is ``annotation_submit``'s.
    """
    names = tables()
    row = fetch_one(SUBMIT_CONTEXT_SQL.format(**names), [worker.pk, worker.pk, worker.pk, item_id])
    if row is None:
        raise Http404("No such item.")
    (item_project, kind, is_gold, scheme_id, scheme_created, study_id, min_seconds, streak, member,
     status_id, state, same_streak, kept_streak,
     slot_id, slot_state, position, blind, leased_at, prelabel, prelabel_created) = row  # fmt: skip
    if not worker_may_label_with_membership(
        user=worker, project_id=item_project, study_id=study_id, own_study_member=member
    ):
        raise PermissionDenied("You have not joined the study this project belongs to.")
    created = None
    if (
        (project_id is None or project_id == item_project)
        and kind == "task"
        and not is_gold
        and state in LABELLING_STATES
        and slot_state in LIVE_STATES
        and position is not None
    ):
        created = _submit_common(
            names,
            worker=worker,
            item_id=item_id,
            labels=labels,
            seconds=seconds,
            keys=_dimension_keys(scheme_id, scheme_created),
            habits=(min_seconds, streak),
            status=(status_id, same_streak, kept_streak),
            slot=(slot_id, blind, _moment(leased_at)),
            prelabel=(_json(prelabel), _moment(prelabel_created)),
        )
    if created is not None:
        return SubmitResult(annotation=created, created=True, outcome=QualityOutcome(state=state))
    item = Item.objects.select_related("project__scheme", "prelabel").get(pk=item_id)
    project = None
    if project_id is not None:
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise Http404("No such project.")
    if not worker_may_label(project=item.project, user=worker):
        raise PermissionDenied("You have not joined the study this project belongs to.")
    return annotation_submit(
        worker=worker, item=item, labels=labels, seconds=seconds, project=project
    )


def _submit_common(
    names, *, worker, item_id, labels, seconds, keys, habits, status, slot, prelabel
) -> Annotation | None:
    """Store the annotation of a regular item; None when the general way must decide."""
    min_seconds, streak = habits
    status_id, same_streak, kept_streak = status
    slot_id, blind, leased_at = slot
    prelabel_labels, prelabel_created = prelabel
    try:
        cleaned = labels_clean(labels=labels, dimension_keys=keys)
    except ValidationError:
        return None  # the general way names the field (or finds a first submit to return)
    # The pre-label counts as seen only if it was on the screen: not blind, there at lease time.
    saw = (
        prelabel_labels is not None
        and not blind
        and (leased_at is None or prelabel_created <= leased_at)
    )
    kept = (
        prelabel_kept(labels=cleaned, prelabel=prelabel_labels, dimension_keys=keys)
        if saw
        else None
    )
    spent = seconds_spent(given=seconds, leased_at=leased_at)
    changes, flags = habit_review(
        min_seconds=min_seconds,
        streak=streak,
        labels=cleaned,
        prelabel_kept=kept,
        seconds=spent,
        same_streak=same_streak,
        kept_streak=kept_streak,
    )
    if flags:
        return None  # flags, thresholds, perhaps a stop: the general way
    streaks = "".join(
        f", {name} = {name} + 1" if change == STREAK_UP else f", {name} = 0"
        for name, change in changes.items()
    )
    now = timezone.now()
    json_field = Annotation._meta.get_field("labels")
    values = [
        worker.pk,
        json_field.get_db_prep_save(cleaned, connection),
        saw,
        spent,
        json_field.get_db_prep_save(kept, connection) if kept is not None else None,
        connection.ops.adapt_datetimefield_value(now),
    ]
    try:
        if connection.vendor == "postgresql":
            with one_statement():
                row = fetch_one(
                    SUBMIT_SQL.format(streaks=streaks, **names),
                    [slot_id, worker.pk, *values, status_id],
                )
        else:
            with _sqlite_writes, transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(COMPLETE_SLOT.format(**names), [slot_id, worker.pk])
                if cursor.fetchone() is None:
                    return None
                values.insert(5, False)  # not excluded
                cursor.execute(INSERT_ANNOTATION.format(**names), [item_id, *values])
                row = cursor.fetchone()
                cursor.execute(COUNT_STATUS.format(streaks=streaks, **names), [status_id])
    except IntegrityError:
        return None  # a second submit of the same form won: the general way returns it
    if row is None:
        return None  # the lease went to someone else: the general way says so
    return Annotation(
        pk=row[0],
        item_id=item_id,
        annotator=worker,
        labels=cleaned,
        saw_prelabel=saw,
        prelabel_kept=kept,
        seconds=spent,
        created=now,
    )
