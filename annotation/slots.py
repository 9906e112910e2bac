"""The k slots of each item to label: made once per item, ``project.overlap`` of them.

Gold items, training items and attention checks have no slots of their own: each worker is
shown them outside the k slots (``annotation.assignment``).
"""

from django.db import connection, transaction
from django.db.models import Exists, OuterRef

from annotation.models import Item, Project, Slot

ANALYZE_AFTER = 5000


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


def slots_missing(project: Project) -> bool:
    """Return whether an item of the project lacks some of its slots (imported since)."""
    have_all = Slot.objects.filter(item=OuterRef("pk"), position=project.overlap - 1)
    return task_items(project).filter(~Exists(have_all)).exists()
