"""Assignment: each item gets exactly k annotations from k different workers, under concurrency.

The race tests use real threads, each with its own database connection, on whichever database
the suite runs on (SQLite by default; PostgreSQL with DATABASE_URL).
"""

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from annotation.assignment import item_next_for_worker, leases_reclaim, slots_ensure
from annotation.leases import NotAssigned, lease_release
from annotation.models import Annotation, Slot, WorkerStatus
from annotation.quality import worker_exclude
from annotation.services import annotation_submit
from core.models import User
from tests.annotation import race as race_module
from tests.annotation.factories import ItemFactory, ProjectFactory, labels
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]


def make_project(n_items: int, overlap: int = 3, **fields):
    project = ProjectFactory(overlap=overlap, blind_share=0, gold_rate=0, **fields)
    for _ in range(n_items):
        ItemFactory(project=project)
    slots_ensure(project=project)
    return project


def workers(n: int) -> list[User]:
    return [UserFactory(username=f"worker{i}") for i in range(n)]


def label_everything(project, worker, seconds=10.0) -> list[int]:
    """Let ``worker`` label until told done; return the item ids they labelled."""
    done = []
    while True:
        answer = item_next_for_worker(project=project, worker=worker)
        if answer.slot is None:
            assert answer.retry_after is None
            return done
        annotation_submit(
            worker=worker, item=answer.slot.item, labels=labels(power=1), seconds=seconds
        )
        done.append(answer.slot.item_id)


def test_each_item_gets_exactly_k_annotations_from_k_different_workers(db):
    project = make_project(4, overlap=3)
    crowd = workers(5)

    for worker in crowd:
        label_everything(project, worker)

    per_item = Counter(Annotation.objects.values_list("item_id", flat=True))
    assert set(per_item.values()) == {3}
    assert len(per_item) == 4
    pairs = list(Annotation.objects.values_list("item_id", "annotator_id"))
    assert len(pairs) == len(set(pairs))


def test_asking_again_returns_the_same_leased_item(db, alice):
    project = make_project(3)

    first = item_next_for_worker(project=project, worker=alice).slot
    again = item_next_for_worker(project=project, worker=alice).slot

    assert first.item_id == again.item_id
    assert Slot.objects.filter(worker=alice, state=Slot.State.LEASED).count() == 1


def test_a_worker_never_gets_the_same_item_twice(db, alice):
    project = make_project(3, overlap=3)

    labelled = label_everything(project, alice)

    assert sorted(labelled) == sorted(project.items.values_list("pk", flat=True))


def test_retry_later_while_others_hold_the_last_slots_then_done(db):
    project = make_project(1, overlap=2)
    alice, bob, carol = workers(3)
    a = item_next_for_worker(project=project, worker=alice)
    b = item_next_for_worker(project=project, worker=bob)

    c = item_next_for_worker(project=project, worker=carol)

    assert a.slot and b.slot
    assert c.slot is None and c.retry_after is not None and c.retry_after >= 1
    assert not c.done

    lease_release(item=a.slot.item, worker=alice)
    c = item_next_for_worker(project=project, worker=carol)
    assert c.slot is not None and c.slot.item_id == a.slot.item_id

    annotation_submit(worker=bob, item=b.slot.item, labels=labels(), seconds=5)
    annotation_submit(worker=carol, item=c.slot.item, labels=labels(), seconds=5)
    assert item_next_for_worker(project=project, worker=alice).done


def test_an_expired_lease_goes_back_to_the_pool(db):
    project = make_project(1, overlap=1)
    alice, bob = workers(2)
    slot = item_next_for_worker(project=project, worker=alice).slot
    Slot.objects.filter(pk=slot.pk).update(lease_expires=timezone.now() - timedelta(seconds=1))

    answer = item_next_for_worker(project=project, worker=bob)

    assert answer.slot is not None and answer.slot.item_id == slot.item_id
    with pytest.raises(NotAssigned):
        annotation_submit(worker=alice, item=slot.item, labels=labels(), seconds=5)
    assert not Annotation.objects.exists()


def test_a_late_submit_is_kept_when_nobody_took_the_slot(db, alice):
    project = make_project(1, overlap=1)
    slot = item_next_for_worker(project=project, worker=alice).slot
    Slot.objects.filter(pk=slot.pk).update(lease_expires=timezone.now() - timedelta(seconds=1))
    assert leases_reclaim(project=project) == 1

    result = annotation_submit(worker=alice, item=slot.item, labels=labels(), seconds=5)

    assert result.created


def test_exclusion_reopens_the_workers_slots(db):
    project = make_project(2, overlap=1)
    alice, bob = workers(2)
    label_everything(project, alice)
    assert item_next_for_worker(project=project, worker=bob).done

    reopened = worker_exclude(project=project, worker=alice)

    assert reopened == 2
    assert sorted(label_everything(project, bob)) == sorted(
        project.items.values_list("pk", flat=True)
    )
    assert item_next_for_worker(project=project, worker=alice).done
    assert WorkerStatus.objects.get(worker=alice).state == "excluded"
    assert Annotation.objects.filter(annotator=alice, excluded=True).count() == 2


def test_items_imported_without_slots_get_them_on_demand(db, alice):
    project = ProjectFactory(overlap=2, blind_share=0, gold_rate=0)
    ItemFactory(project=project)

    answer = item_next_for_worker(project=project, worker=alice)

    assert answer.slot is not None
    assert Slot.objects.filter(project=project).count() == 2


def test_quota_reached_is_done_for_that_worker(db, alice):
    project = make_project(5, overlap=1, quota_per_worker=2)

    assert len(label_everything(project, alice)) == 2


# --- Real concurrency ---------------------------------------------------------------------------


# Threads need committed rows; the seeded scheme is restored after the flush.
RACE = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(scope="module")
def sqlite_races(tmp_path_factory) -> dict:
    """Run every race scenario once on a fresh SQLite file configured as deployed."""
    path = tmp_path_factory.mktemp("race") / "race.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}"}
    done = subprocess.run(
        [sys.executable, "-m", "tests.annotation.race"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture
def races(request):
    """Return a function running a scenario on this suite's database, in real threads."""

    def run(name: str) -> dict:
        if connection.vendor == "sqlite":
            return request.getfixturevalue("sqlite_races")[name]
        return race_module.SCENARIOS[name]()

    return run


@RACE
def test_many_workers_racing_for_the_last_slots_never_overfill_an_item(races):
    facts = races("crowd")

    assert facts["errors"] == []
    assert facts["per_item"] == [facts["overlap"]] * facts["n_items"]
    assert facts["pairs"] == facts["distinct_pairs"] == facts["n_items"] * facts["overlap"]
    assert facts["open_slots_when_done"] and set(facts["open_slots_when_done"]) == {0}, (
        "a worker was told done while slots were open"
    )


@RACE
def test_the_same_worker_in_many_tabs_holds_one_slot_per_item(races):
    facts = races("tabs")

    assert facts["errors"] == []
    assert len(facts["held"]) == 1
    assert facts["answered"] == facts["held"]


@RACE
def test_a_double_submitted_form_stores_one_annotation(races):
    facts = races("double_submit")

    assert facts["errors"] == []
    assert facts["created"] == 1
    assert facts["stored"] == 1
    assert facts["slot_states"] == ["done"]


@RACE
def test_a_participant_racing_from_many_tabs_labels_exactly_their_items_per_participant(races):
    facts = races("quota")

    assert facts["errors"] == []
    assert facts["alice_labelled"] == facts["alice_n_done"] == facts["quota"]
    assert facts["per_item"] == [facts["overlap"]] * facts["n_items"]  # k labels on every item
