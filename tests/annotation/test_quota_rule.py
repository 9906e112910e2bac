"""A participant's quota in a project: one rule, read three ways (the page and the general way in
the ORM, the annotate loop in SQL); the tests hold them equal, and show the claim itself keeps a
worker to their quota when what it was told is already out of date (another tab submitted)."""

from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from annotation import assignment
from annotation.assignment import (
    _claim_regular,
    item_next_for_worker,
    worker_quota,
    worker_status_for,
)
from annotation.models import Project, Slot, WorkerStatus
from annotation.quota import QUOTA_SLOTS_SQL, QUOTA_SQL, quota_slots
from annotation.services import annotation_submit
from tests.annotation.factories import ItemFactory, ProjectFactory, labels
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def make_project(n_items: int, **fields) -> Project:
    project = ProjectFactory(overlap=2, blind_share=0, gold_rate=0, min_seconds=0, **fields)
    for _ in range(n_items):
        ItemFactory(project=project)
    assignment.slots_ensure(project=project)
    return project


# The loop's own reading of the quota (QUOTA_SQL), over a project and one status.
QUOTA_READ = """
SELECT {quota} FROM {project} AS project
JOIN {status} AS status ON status.project_id = project.id
WHERE status.id = %s
"""


def quota_in_sql(status: WorkerStatus) -> int:
    quote = connection.ops.quote_name
    sql = QUOTA_READ.format(
        quota=QUOTA_SQL,
        project=quote(Project._meta.db_table),
        status=quote(WorkerStatus._meta.db_table),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [status.pk])
        return cursor.fetchone()[0]


@pytest.mark.parametrize(("project_quota", "own"), [(0, None), (5, None), (5, 2), (0, 3)])
def test_the_quota_reads_the_same_in_sql_and_in_the_orm(project_quota, own):
    project = make_project(1, quota_per_worker=project_quota)
    status = WorkerStatus.objects.create(project=project, worker=UserFactory(), quota=own)

    assert quota_in_sql(status) == worker_quota(project=project, status=status)
    assert worker_quota(project=project, status=status) == (own or project_quota)


def test_the_claim_takes_no_slot_once_the_count_reaches_the_quota():
    project = make_project(4)
    alice = UserFactory()
    for slot in Slot.objects.filter(project=project, position=0).order_by("pk")[:2]:
        Slot.objects.filter(pk=slot.pk).update(state="done", worker=alice)
    now = timezone.now()

    assert _claim_regular(project=project, worker=alice, now=now, quota=2) is None
    assert not Slot.objects.filter(project=project, worker=alice, state="leased").exists()
    claimed = _claim_regular(project=project, worker=alice, now=now, quota=3)  # one left
    assert claimed is not None and claimed.worker_id == alice.pk


def test_the_slots_counted_toward_the_quota_are_the_same_in_sql_and_in_the_orm():
    project = make_project(5)
    alice, bob = UserFactory(), UserFactory()
    slots = list(Slot.objects.filter(project=project, position=0).order_by("pk"))
    now = timezone.now()
    Slot.objects.filter(pk=slots[0].pk).update(state="done", worker=alice)
    Slot.objects.filter(pk=slots[1].pk).update(state="leased", worker=alice, leased_at=now)
    Slot.objects.filter(pk=slots[2].pk).update(state="free", worker=alice)  # lapsed, not taken
    Slot.objects.filter(pk=slots[3].pk).update(state="done", worker=bob)
    other = make_project(1)
    Slot.objects.filter(project=other, position=0).update(state="done", worker=alice)
    count_sql = QUOTA_SLOTS_SQL.format(slot=connection.ops.quote_name(Slot._meta.db_table))

    with connection.cursor() as cursor:
        cursor.execute(count_sql, [alice.pk, project.pk])
        in_sql = cursor.fetchone()[0]

    assert in_sql == quota_slots(project=project, worker=alice).count() == 3


def test_a_status_read_before_another_tab_submitted_does_not_take_them_past_their_quota():
    project = make_project(6, quota_per_worker=2)
    alice = UserFactory()
    for _ in range(2):
        slot = item_next_for_worker(project=project, worker=alice).slot
        annotation_submit(worker=alice, item=slot.item, labels=labels(), seconds=5)
    # What a tab read a moment before the other tab's last submit committed: 1 of 2 done.
    stale = WorkerStatus.objects.get(project=project, worker=alice)
    stale.n_done = 1

    with mock.patch.object(assignment, "worker_status_for", return_value=stale):
        answer = item_next_for_worker(project=project, worker=alice)

    assert answer.slot is None
    assert quota_slots(project=project, worker=alice).count() == 2
    assert not Slot.objects.filter(project=project, worker=alice, state="leased").exists()


def test_the_first_contact_fixes_the_quota_of_the_participants_study_task(rita):
    from core.models import Participation
    from core.services import study_create

    project = make_project(3, quota_per_worker=5)
    study = study_create(
        created_by=rita,
        slug="three",
        title="Three",
        completion_code="T3",
        tasks=[
            {
                "kind": "annotation.label",
                "title": "Label",
                "config": {"project": project.pk, "items_per_participant": 2},
            }
        ],
    )
    alice, bob = UserFactory(), UserFactory()
    Participation.objects.create(study=study, user=alice)

    assert worker_status_for(project=project, worker=alice).quota == 2
    assert worker_status_for(project=project, worker=bob).quota is None  # no study: the project's
