"""The annotate loop's rules read the same in its SQL and in the ORM.

``annotation.loop`` answers the common case in hand-written statements; the general way
(``item_next_for_worker``, ``annotation_submit``) and the pages read the same rules with the ORM.
Each rule has one SQL text and one ORM reading; these tests hold each pair equal (the quota's
pair is in test_quota_rule.py).
"""

import pytest
from django.db import connection, transaction
from django.utils import timezone

from annotation.assignment import CLAIMABLE_SQL, _claim_regular, slots_claimable, slots_ensure
from annotation.labelling import (
    OWN_STUDY_MEMBER_SQL,
    worker_may_label,
    worker_may_label_with_membership,
)
from annotation.leases import LIVE_SLOT_SQL, NotAssigned, slot_complete, slots_live
from annotation.loop_sql import tables
from annotation.models import Slot
from core.models import Participation
from tests.annotation.factories import ItemFactory, ProjectFactory
from tests.factories import StudyFactory, StudyTaskFactory, UserFactory

pytestmark = pytest.mark.django_db


# A statement's condition on slots (``candidate`` is the slot's row), read on its own.
SLOTS_WHERE = "SELECT candidate.id FROM {slot} AS candidate WHERE {condition}"
# The loop's membership read (``project`` is the project's row), on its own.
MEMBER_READ = "SELECT {member} FROM {project} AS project WHERE project.id = %s"


def select_ids(condition: str, params: list) -> set[int]:
    """Return the ids of the slots a statement's condition picks."""
    names = tables()
    sql = SLOTS_WHERE.format(condition=condition.format(**names), slot=names["slot"])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def test_the_slots_a_claim_may_take_are_the_same_in_sql_and_in_the_orm():
    project = ProjectFactory(overlap=2, blind_share=0, gold_rate=0)
    items = [ItemFactory(project=project) for _ in range(5)]
    slots_ensure(project=project)
    other = ProjectFactory(overlap=1, blind_share=0, gold_rate=0)
    ItemFactory(project=other)
    slots_ensure(project=other)
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    now = timezone.now()

    def slot(item, position):
        return Slot.objects.filter(item=item, position=position)

    slot(items[0], 0).update(state="done", worker=alice)  # alice labelled item 0
    slot(items[1], 0).update(state="leased", worker=bob, leased_at=now)  # one left on item 1
    slot(items[2], 0).update(state="done", worker=bob)
    slot(items[2], 1).update(state="done", worker=carol)  # item 2 complete
    slot(items[3], 0).update(state="free", worker=alice)  # alice's lapsed lease

    in_sql = select_ids(CLAIMABLE_SQL, [project.pk, project.overlap, alice.pk])
    in_orm = set(slots_claimable(project=project, worker=alice).values_list("pk", flat=True))

    assert in_sql == in_orm
    assert {s.item_id for s in Slot.objects.filter(pk__in=in_orm)} == {items[1].pk, items[4].pk}
    claimed = _claim_regular(project=project, worker=alice, now=now)
    assert claimed.pk == min(in_orm)


def test_a_lowered_overlap_hides_the_same_slots_in_sql_and_in_the_orm():
    project = ProjectFactory(overlap=3, blind_share=0, gold_rate=0)
    ItemFactory(project=project)
    slots_ensure(project=project)
    project.overlap = 1
    project.save()
    alice = UserFactory()

    in_sql = select_ids(CLAIMABLE_SQL, [project.pk, project.overlap, alice.pk])
    in_orm = set(slots_claimable(project=project, worker=alice).values_list("pk", flat=True))

    assert in_sql == in_orm == set(Slot.objects.filter(position=0).values_list("pk", flat=True))


def test_the_slots_still_a_workers_are_the_same_in_sql_in_the_orm_and_for_a_submit():
    project = ProjectFactory(overlap=1, blind_share=0, gold_rate=0)
    items = [ItemFactory(project=project) for _ in range(5)]
    slots_ensure(project=project)
    alice, bob = UserFactory(), UserFactory()
    now = timezone.now()
    states = [
        ("leased", alice),  # hers
        ("free", alice),  # lapsed, nobody took it: still hers
        ("done", alice),  # labelled already
        ("leased", bob),  # bob's
        ("free", None),  # back in the pool
    ]
    for item, (state, worker) in zip(items, states, strict=True):
        Slot.objects.filter(item=item).update(state=state, worker=worker, leased_at=now)

    in_sql = select_ids("candidate." + LIVE_SLOT_SQL, [alice.pk])
    in_orm = set(slots_live(worker=alice).values_list("pk", flat=True))
    completed = set()
    for item in items:
        try:
            with transaction.atomic():
                completed.add(slot_complete(item=item, worker=alice).pk)
                transaction.set_rollback(True)
        except NotAssigned:
            pass

    assert in_sql == in_orm == completed
    assert {Slot.objects.get(pk=pk).item_id for pk in in_orm} == {items[0].pk, items[1].pk}


def own_study_member_in_sql(project, user) -> bool:
    names = tables()
    sql = MEMBER_READ.format(member=OWN_STUDY_MEMBER_SQL.format(**names), project=names["project"])
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, project.pk])
        return bool(cursor.fetchone()[0])


def test_who_may_label_reads_the_same_in_the_loop_and_in_the_orm(rita):
    study, other_study = StudyFactory(), StudyFactory()
    project = ProjectFactory(study=study)
    open_project = ProjectFactory(study=None)
    StudyTaskFactory(
        study=other_study, kind="annotation.label", title="Label", config={"project": project.pk}
    )
    member, via_task, outsider = UserFactory(), UserFactory(), UserFactory()
    Participation.objects.create(study=study, user=member)
    Participation.objects.create(study=other_study, user=via_task)

    for candidate in (project, open_project):
        for user in (member, via_task, outsider, rita):
            in_sql = own_study_member_in_sql(candidate, user)
            in_orm = worker_may_label(project=candidate, user=user)
            in_loop = worker_may_label_with_membership(
                user=user,
                project_id=candidate.pk,
                study_id=candidate.study_id,
                own_study_member=in_sql,
            )

            assert in_loop == in_orm, (candidate, user)
            assert in_orm or not in_sql  # the SQL never admits whom the rule refuses

    assert not worker_may_label(project=project, user=outsider)
    assert worker_may_label(project=project, user=via_task)
