"""The statements of the annotate loop (``annotation.loop``), in SQL for speed.

Each rule they apply is written once and shared with the ORM's reading of it: which slots a
claim may take (``assignment.CLAIMABLE_SQL`` / ``slots_claimable``), which slot is still the
worker's to submit (``leases.LIVE_SLOT_SQL`` / ``slots_live``), the quota
(``quota.QUOTA_SQL``, ``QUOTA_GUARD`` / ``worker_quota``, ``quota_slots``) and who may label
(``labelling.OWN_STUDY_MEMBER_SQL`` / ``worker_may_label``); tests/annotation/test_loop_rules.py
and test_quota_rule.py hold each pair equal. Table names are filled in from ``tables()``.
"""

from django.db import connection

from annotation.assignment import CLAIM_SQL
from annotation.labelling import OWN_STUDY_MEMBER_SQL
from annotation.leases import slot_done_sql
from annotation.models import Annotation, Item, Prelabel, Project, Slot, WorkerStatus
from annotation.quota import QUOTA_SQL
from core.models import Participation, ValueScheme


def tables() -> dict[str, str]:
    """Return the quoted table names the statements name by ``{project}``, ``{slot}``, …"""
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


def fragments_fill(template: str, **fragments: str) -> str:
    """Return ``template`` with each ``{name}`` of ``fragments`` replaced by that SQL text.

    The other fields (the tables, the lock, the quota guard, the streaks) are left for the
    request to fill with ``str.format``.
    """
    for name, text in fragments.items():
        template = template.replace("{" + name + "}", text)
    return template


# --- Next ----------------------------------------------------------------------------------------

# The project, whether the worker joined its study, their standing and whether they hold a slot
# already: a lease (the one-lease-per-worker index), or an expired one nobody took yet (the
# worker's own slots by state). Parameters: the worker's id four times, the project's id.
NEXT_CONTEXT_SQL = fragments_fill(
    """
SELECT project.scheme_id, scheme.created, project.study_id, project.overlap, project.lease_seconds,
       {quota}, project.gold_rate, project.attention_rate,
       {member},
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
""",
    quota=QUOTA_SQL,
    member=OWN_STUDY_MEMBER_SQL,
)

# The claim of assignment.CLAIM_SQL, returning what the item's payload needs; on PostgreSQL the
# statement also reads the item and its pre-label.
SLOT_RETURNING = "id, item_id, blind, lease_expires"
CLAIM_UPDATE = fragments_fill(CLAIM_SQL, returning=SLOT_RETURNING)
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
RENEW_UPDATE = fragments_fill(
    """
UPDATE {slot} SET lease_expires = %s
WHERE project_id = %s AND worker_id = %s AND state = 'leased'
RETURNING {returning}
""",
    returning=SLOT_RETURNING,
)
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


# --- Submit --------------------------------------------------------------------------------------

# The item, its project, whether the worker joined its study, their standing, their slot on the
# item and its pre-label. Parameters: the worker's id three times, the item's id.
SUBMIT_CONTEXT_SQL = fragments_fill(
    """
SELECT item.project_id, item.kind, item.is_gold, project.scheme_id, scheme.created,
       project.study_id,
       project.min_seconds, project.straightline_streak,
       {member},
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
""",
    member=OWN_STUDY_MEMBER_SQL,
)

# The three writes of a submit: the worker's live slot done (parameters: its id, the worker's
# id), the annotation stored, the worker's count (and streaks: ``{streaks}``) moved on.
COMPLETE_SLOT = slot_done_sql(match="id", returning="item_id")
ANNOTATION_COLUMNS = (
    "(item_id, annotator_id, labels, saw_prelabel, seconds, prelabel_kept, excluded, created)"
)
INSERT_ANNOTATION = fragments_fill(
    """
INSERT INTO {annotation}
    {columns}
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
RETURNING id
""",
    columns=ANNOTATION_COLUMNS,
)
COUNT_STATUS = "UPDATE {status} SET n_done = n_done + 1{streaks} WHERE id = %s"
# PostgreSQL: the three writes as one statement, so all or nothing without BEGIN/COMMIT trips.
SUBMIT_SQL = fragments_fill(
    """
WITH done AS ({done}), created AS (
    INSERT INTO {annotation}
        {columns}
    SELECT item_id, %s, %s, %s, %s, %s, false, %s FROM done
    RETURNING id
), counted AS (
    {count} AND EXISTS (SELECT 1 FROM created)
)
SELECT id FROM created
""",
    done=COMPLETE_SLOT,
    columns=ANNOTATION_COLUMNS,
    count=COUNT_STATUS,
)
