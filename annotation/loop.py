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
run each case through the API.
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

from annotation.assignment import (
    CLAIM_SQL,
    QUOTA_SQL,
    NextAnswer,
    item_next_for_worker,
    one_statement,
    quota_guard,
)
from annotation.labelling import dimension_keys_cached, leased_item_payload, worker_may_label
from annotation.models import (
    Annotation,
    Item,
    Prelabel,
    Project,
    Slot,
    WorkerStatus,
)
from annotation.quality import STREAK_UP, QualityOutcome, habit_review
from annotation.services import SubmitResult, annotation_submit, labels_clean, seconds_spent
from annotation.study_tasks import KIND as LABEL_TASK
from core.db import fetch_one
from core.models import Participation, User, ValueScheme
from core.selectors import task_order_check

LABELLING_STATES = (WorkerStatus.State.ACTIVE, WorkerStatus.State.WARNED)

# SQLite lets one writer in at a time; a thread that finds the lock taken sleeps in SQLite's
# busy handler (1, 2, 5, 10… ms), long after the lock came free. The threads of one server
# process queue here instead and go in as soon as it is their turn.
_sqlite_writes = threading.Lock()


def _dimension_keys(scheme_id: int, scheme_created) -> list[str]:
    return dimension_keys_cached(scheme_id=scheme_id, created=_moment(scheme_created))


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "project": quote(Project._meta.db_table),
        "item": quote(Item._meta.db_table),
        "slot": quote(Slot._meta.db_table),
        "status": quote(WorkerStatus._meta.db_table),
        "prelabel": quote(Prelabel._meta.db_table),
        "annotation": quote(Annotation._meta.db_table),
        "participation": quote(Participation._meta.db_table),
        "scheme": quote(ValueScheme._meta.db_table),
    }


def _json(value):
    # PostgreSQL's driver hands jsonb over as text under Django (as SQLite does); None stays.
    return json.loads(value) if isinstance(value, str | bytes) else value


def _moment(value) -> datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else parse_datetime(value)
    # SQLite keeps UTC without a zone.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _may_label(user: User, project_id: int, study_id: int | None, member: bool) -> bool:
    # The statement's EXISTS answers the common case (a participant of the project's own study);
    # the rule is worker_may_label's (it also admits studies whose labelling task names the
    # project, as the labelling page does).
    if member:
        return True
    return worker_may_label(project=Project(pk=project_id, study_id=study_id), user=user)


# --- Next ----------------------------------------------------------------------------------------

# The project, whether the worker joined its study, their standing and whether they hold a slot
# already: a lease (the one-lease-per-worker index), or an expired one nobody took yet (the
# worker's own slots by state).
NEXT_CONTEXT_SQL = """
SELECT project.scheme_id, scheme.created, project.study_id, project.overlap, project.lease_seconds,
       {quota}, project.gold_rate, project.attention_rate,
       EXISTS (SELECT 1 FROM {participation} AS member
               WHERE member.study_id = project.study_id AND member.user_id = %s),
       status.state, status.n_done, status.n_gold, status.n_attention,
       EXISTS (SELECT 1 FROM {slot} AS held
               WHERE held.project_id = project.id AND held.worker_id = %s
                 AND held.state = 'leased'),
       EXISTS (SELECT 1 FROM {slot} AS lapsed
               WHERE lapsed.worker_id = %s AND lapsed.state = 'free'
                 AND lapsed.project_id = project.id)
FROM {project} AS project
JOIN {scheme} AS scheme ON scheme.id = project.scheme_id
LEFT JOIN {status} AS status ON status.project_id = project.id AND status.worker_id = %s
WHERE project.id = %s
"""

# The claim of assignment.CLAIM_SQL, returning what the item's payload needs; on PostgreSQL the
# statement also reads the item and its pre-label.
SLOT_RETURNING = "id, item_id, blind, lease_expires"
CLAIM_UPDATE = CLAIM_SQL.replace("{returning}", SLOT_RETURNING)
ITEM_COLUMNS = """item.kind, item.prompt, item.response,
       prelabel.labels, prelabel.rationale, prelabel.rationales"""


def _with_item(update: str, extra: str = "") -> str:
    # PostgreSQL: the slot's UPDATE … RETURNING and the read of its item in one statement.
    return (
        f"WITH changed AS ({update}){extra}\n"
        f"SELECT changed.id, changed.item_id, changed.blind, changed.lease_expires, {ITEM_COLUMNS}"
        """
FROM changed JOIN {item} AS item ON item.id = changed.item_id
LEFT JOIN {prelabel} AS prelabel ON prelabel.item_id = changed.item_id
"""
    )


CLAIM_WITH_ITEM_SQL = _with_item(CLAIM_UPDATE)

# A reload while the worker holds a lease in the project (there is at most one: the
# one-lease-per-worker index) renews it and answers the same item, as ``item_next_for_worker``.
RENEW_UPDATE = """
UPDATE {slot} SET lease_expires = %s
WHERE project_id = %s AND worker_id = %s AND state = 'leased'
RETURNING id, item_id, blind, lease_expires
"""
# On PostgreSQL the renewal commits without waiting for its WAL to reach the disk (an fsync per
# reload, 3-8 ms on the development machine and longer while other writes queue): only a crash
# of the database could lose it, and then the lease merely ends at its previous time, which the
# loop already handles (an expired lease nobody took is still the worker's to submit). The
# setting is local to this statement's transaction (used only when the statement is one: in
# autocommit); everything else stays durable.
RENEW_WITH_ITEM_SQL = _with_item(RENEW_UPDATE)
RENEW_RELAXED_WITH_ITEM_SQL = _with_item(
    RENEW_UPDATE,
    ", relaxed AS (SELECT set_config('synchronous_commit', 'off', true) AS value)",
).replace("FROM changed JOIN", "FROM changed CROSS JOIN relaxed JOIN")
ITEM_SQL = (
    "SELECT "
    + ITEM_COLUMNS
    + """
FROM {item} AS item LEFT JOIN {prelabel} AS prelabel ON prelabel.item_id = item.id
WHERE item.id = %s"""
)


@dataclass(frozen=True)
class NextResult:
    """What the API answers: the item's payload, or retry later, or done."""

    item: dict | None = None
    retry_after: int | None = None


def _extra_due(rate: float, seen: int, served: int) -> bool:
    # As item_next_for_worker: a gold item or attention check is due at the project's rate.
    return rate > 0 and seen + 1 <= rate * (served + 1)


def next_for_worker(*, project_id: int, worker: User) -> NextResult:
    """Lease the worker's next item in the project (the API's ``next``); raise 404 / 403.

    The common case — an active worker, no lease held, nothing special due — is two statements
    on PostgreSQL (three on SQLite); everything else is ``item_next_for_worker``'s.
    """
    tables = _tables()
    row = fetch_one(
        NEXT_CONTEXT_SQL.format(quota=QUOTA_SQL, **tables), [worker.pk] * 4 + [project_id]
    )
    if row is None:
        raise Http404("No such project.")
    (scheme_id, scheme_created, study_id, overlap, lease_seconds, quota, gold_rate,
     attention_rate, member,
     state, n_done, n_gold, n_attention, holds_lease, lapsed) = row  # fmt: skip
    if not _may_label(worker, project_id, study_id, member):
        raise PermissionDenied("You have not joined the study this project belongs to.")
    if state is None:  # first contact: only once the tasks before this one are done (409)
        task_order_check(user=worker, kind=LABEL_TASK, target=project_id)
    if holds_lease and state is not None and WorkerStatus(state=state).may_label:
        # A reload, a second tab: the same item, its lease renewed.
        renewed = _renew_with_item(
            tables, worker=worker, project_id=project_id, seconds=lease_seconds
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
        and not (quota and n_done >= quota)
        and not _extra_due(attention_rate, n_attention or 0, served)
        and not _extra_due(gold_rate, n_gold or 0, served)
    )
    if common:
        claimed = _claim_with_item(
            tables,
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
    tables, *, worker: User, project_id: int, overlap: int, seconds: int, quota: int
):
    now = timezone.now()
    expires = now + timedelta(seconds=seconds)
    adapt = connection.ops.adapt_datetimefield_value
    guard, guard_params = quota_guard(quota, project_id=project_id, worker_id=worker.pk)
    guard = guard.format(**tables)
    params = [worker.pk, adapt(now), adapt(expires), project_id, overlap, worker.pk, *guard_params]
    postgres = connection.vendor == "postgresql"
    lock = " FOR UPDATE SKIP LOCKED" if postgres else ""
    try:
        if postgres:
            with one_statement():
                sql = CLAIM_WITH_ITEM_SQL.format(lock=lock, quota=guard, **tables)
                row = fetch_one(sql, params)
        else:
            # SQLite has no UPDATE inside WITH: claim, then read (both in-process).
            with _sqlite_writes, one_statement(), connection.cursor() as cursor:
                cursor.execute(CLAIM_UPDATE.format(lock=lock, quota=guard, **tables), params)
                claim = cursor.fetchone()
                row = None
                if claim is not None:
                    cursor.execute(ITEM_SQL.format(**tables), [claim[1]])
                    row = (*claim, *cursor.fetchone())
    except IntegrityError:
        return None  # another tab of this worker won a lease a moment ago: the general way
    return None if row is None else _leased_payload(row, expires)


def _renew_with_item(tables, *, worker: User, project_id: int, seconds: int):
    """Renew the worker's lease in the project and return its item's payload (None: no lease)."""
    expires = timezone.now() + timedelta(seconds=seconds)
    params = [connection.ops.adapt_datetimefield_value(expires), project_id, worker.pk]
    if connection.vendor == "postgresql":
        sql = RENEW_WITH_ITEM_SQL if connection.in_atomic_block else RENEW_RELAXED_WITH_ITEM_SQL
        row = fetch_one(sql.format(**tables), params)
    else:
        with _sqlite_writes, connection.cursor() as cursor:
            cursor.execute(RENEW_UPDATE.format(**tables), params)
            renewed = cursor.fetchone()
            row = None
            if renewed is not None:
                cursor.execute(ITEM_SQL.format(**tables), [renewed[1]])
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

SUBMIT_CONTEXT_SQL = """
SELECT item.project_id, item.kind, item.is_gold, project.scheme_id, scheme.created,
       project.study_id,
       project.min_seconds, project.straightline_streak,
       EXISTS (SELECT 1 FROM {participation} AS member
               WHERE member.study_id = project.study_id AND member.user_id = %s),
       status.id, status.state, status.same_streak, status.kept_streak,
       slot.id, slot.state, slot.position, slot.blind, slot.leased_at,
       prelabel.labels, prelabel.created
FROM {item} AS item
JOIN {project} AS project ON project.id = item.project_id
JOIN {scheme} AS scheme ON scheme.id = project.scheme_id
LEFT JOIN {status} AS status ON status.project_id = item.project_id AND status.worker_id = %s
LEFT JOIN {slot} AS slot ON slot.item_id = item.id AND slot.worker_id = %s
LEFT JOIN {prelabel} AS prelabel ON prelabel.item_id = item.id
WHERE item.id = %s
"""

COMPLETE_SLOT = """
UPDATE {slot} SET state = 'done', lease_expires = NULL
WHERE id = %s AND worker_id = %s AND state IN ('leased', 'free')
RETURNING item_id
"""
INSERT_ANNOTATION = """
INSERT INTO {annotation}
    (item_id, annotator_id, labels, saw_prelabel, seconds, prelabel_kept, excluded, created)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
RETURNING id
"""
COUNT_STATUS = "UPDATE {status} SET n_done = n_done + 1{streaks} WHERE id = %s"
# PostgreSQL: the three writes as one statement, so all or nothing without BEGIN/COMMIT trips.
SUBMIT_SQL = """
WITH done AS (
    UPDATE {slot} SET state = 'done', lease_expires = NULL
    WHERE id = %s AND worker_id = %s AND state IN ('leased', 'free')
    RETURNING item_id
), created AS (
    INSERT INTO {annotation}
        (item_id, annotator_id, labels, saw_prelabel, seconds, prelabel_kept, excluded, created)
    SELECT item_id, %s, %s, %s, %s, %s, false, %s FROM done
    RETURNING id
), counted AS (
    UPDATE {status} SET n_done = n_done + 1{streaks}
    WHERE id = %s AND EXISTS (SELECT 1 FROM created)
)
SELECT id FROM created
"""


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
    tables = _tables()
    row = fetch_one(SUBMIT_CONTEXT_SQL.format(**tables), [worker.pk, worker.pk, worker.pk, item_id])
    if row is None:
        raise Http404("No such item.")
    (item_project, kind, is_gold, scheme_id, scheme_created, study_id, min_seconds, streak, member,
     status_id, state, same_streak, kept_streak,
     slot_id, slot_state, position, blind, leased_at, prelabel, prelabel_created) = row  # fmt: skip
    if not _may_label(worker, item_project, study_id, member):
        raise PermissionDenied("You have not joined the study this project belongs to.")
    created = None
    if (
        (project_id is None or project_id == item_project)
        and kind == "task"
        and not is_gold
        and state in LABELLING_STATES
        and slot_state in (Slot.State.LEASED, Slot.State.FREE)
        and position is not None
    ):
        created = _submit_common(
            tables,
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
    tables, *, worker, item_id, labels, seconds, keys, habits, status, slot, prelabel
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
    kept = {key: cleaned[key] == int(prelabel_labels.get(key, 0)) for key in keys} if saw else None
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
                    SUBMIT_SQL.format(streaks=streaks, **tables),
                    [slot_id, worker.pk, *values, status_id],
                )
        else:
            with _sqlite_writes, transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(COMPLETE_SLOT.format(**tables), [slot_id, worker.pk])
                if cursor.fetchone() is None:
                    return None
                values.insert(5, False)  # not excluded
                cursor.execute(INSERT_ANNOTATION.format(**tables), [item_id, *values])
                row = cursor.fetchone()
                cursor.execute(COUNT_STATUS.format(streaks=streaks, **tables), [status_id])
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
