"""Quality: gold items at a rate, attention checks, training with feedback, flags, the stop."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from annotation.assignment import item_next_for_worker, slots_ensure
from annotation.models import Annotation, Item, Prelabel, QualityFlag, Slot, WorkerStatus
from annotation.quality import attention_checks_create, gold_accuracy_by_worker, items_set_role
from annotation.services import annotation_submit
from tests.annotation.factories import ItemFactory, ProjectFactory, labels
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def project_with(n_items: int = 6, **fields):
    defaults = {
        "overlap": 1,
        "blind_share": 0,
        "gold_rate": 0,
        "min_seconds": 0,
        "straightline_streak": 0,
        "flags_warn": 0,
        "flags_stop": 0,
    }
    project = ProjectFactory(**(defaults | fields))
    for n in range(n_items):
        ItemFactory(project=project, external_id=f"i{n}", reference_labels=labels(power=1))
    slots_ensure(project=project)
    return project


def take_and_submit(project, worker, given=None, seconds=10.0):
    answer = item_next_for_worker(project=project, worker=worker)
    assert answer.slot is not None, answer
    # The server bounds the time a page reports by the time since the lease began.
    Slot.objects.filter(pk=answer.slot.pk).update(leased_at=timezone.now() - timedelta(seconds=120))
    result = annotation_submit(
        worker=worker, item=answer.slot.item, labels=given or labels(power=1), seconds=seconds
    )
    return answer.slot.item, result


def test_gold_items_are_mixed_in_at_the_set_rate_outside_the_k_slots(alice):
    project = project_with(10, gold_rate=0.25)
    items_set_role(project=project, role="gold", count=2)

    served = [take_and_submit(project, alice)[0] for _ in range(8)]

    kinds = ["gold" if item.is_gold else "task" for item in served]
    assert kinds.count("gold") == 2
    assert kinds[:4].count("gold") == 1  # one in every four, not both at the end
    assert not Slot.objects.filter(item__is_gold=True, position__isnull=False).exists()
    assert WorkerStatus.objects.get(worker=alice).n_gold == 2


def test_gold_accuracy_per_worker_and_dimension(alice, bob):
    project = project_with(4, gold_rate=1.0)
    items_set_role(project=project, role="gold", external_ids=["i0", "i1"])
    for _ in range(2):
        take_and_submit(project, alice, labels(power=1))
        take_and_submit(project, bob, labels(power=0, hedonism=1))

    accuracy = gold_accuracy_by_worker(project=project)

    assert accuracy[alice.pk]["n_gold"] == 2
    assert accuracy[alice.pk]["accuracy"] == 1.0
    assert accuracy[bob.pk]["dimensions"]["power"] == 0.0
    assert accuracy[bob.pk]["dimensions"]["hedonism"] == 0.0
    assert accuracy[bob.pk]["dimensions"]["security"] == 1.0
    assert accuracy[bob.pk]["accuracy"] == pytest.approx(0.8)
    # Each worker was right on the same share of every gold item: nothing to resample.
    assert accuracy[bob.pk]["accuracy_ci"] == [0.8, 0.8]
    assert accuracy[alice.pk]["accuracy_ci"] == [1.0, 1.0]


def test_training_comes_first_with_feedback_and_does_not_count(alice):
    project = project_with(2)
    items_set_role(project=project, role="training", external_ids=["i0"])

    item, result = take_and_submit(project, alice, labels(hedonism=1))

    assert item.kind == "training"
    assert result.outcome.feedback["power"] == {"yours": 0, "reference": 1, "ok": False}
    assert result.outcome.feedback["security"]["ok"] is True
    status = WorkerStatus.objects.get(worker=alice)
    assert status.n_done == 0
    assert item_next_for_worker(project=project, worker=alice).slot.item.kind == "task"
    assert WorkerStatus.objects.get(worker=alice).state == "active"


def test_a_failed_attention_check_is_flagged_and_a_passed_one_is_not(alice, bob):
    project = project_with(6, attention_rate=0.5)
    (check, *_) = attention_checks_create(project=project, n=1)
    expected = check.reference_labels

    served_alice = [take_and_submit(project, alice, expected)[0] for _ in range(2)]
    served_bob = [take_and_submit(project, bob, labels())[0] for _ in range(2)]

    assert check in served_alice and check in served_bob
    assert not QualityFlag.objects.filter(worker=alice, kind="attention").exists()
    assert QualityFlag.objects.filter(worker=bob, kind="attention").count() == 1


def test_attention_checks_are_added_once(db):
    project = project_with(1)

    attention_checks_create(project=project, n=3)
    attention_checks_create(project=project, n=3)

    assert Item.objects.filter(project=project, kind="attention").count() == 3


def test_too_fast_items_are_flagged(alice):
    project = project_with(2, min_seconds=4)

    take_and_submit(project, alice, seconds=1.0)
    take_and_submit(project, alice, seconds=20.0)

    assert QualityFlag.objects.filter(worker=alice, kind="too_fast").count() == 1


def test_straight_lining_is_flagged_after_the_streak(alice):
    project = project_with(6, straightline_streak=3)

    for _ in range(2):
        take_and_submit(project, alice, labels())
    assert not QualityFlag.objects.filter(kind="straight_line").exists()
    take_and_submit(project, alice, labels())

    assert QualityFlag.objects.filter(worker=alice, kind="straight_line").count() == 1


def test_accepting_the_prelabel_unchanged_item_after_item_is_flagged(alice):
    project = project_with(4, straightline_streak=3)
    for item in project.items.all():
        Prelabel.objects.create(item=item, labels=labels(power=1), model="m", prompt_version="v")
    Prelabel.objects.update(created=timezone.now() - timedelta(hours=1))

    for _ in range(3):
        take_and_submit(project, alice, labels(power=1))

    assert QualityFlag.objects.filter(worker=alice, kind="prelabel_streak").count() == 1
    kept = Annotation.objects.filter(annotator=alice).first().prelabel_kept
    assert all(kept.values()) and set(kept) == set(labels())


def test_flags_warn_then_stop_the_worker_with_the_screen_out_code(alice, alice_client):
    project = project_with(6, min_seconds=30, flags_warn=1, flags_stop=2, screenout_code="SCR99")

    take_and_submit(project, alice, seconds=1)
    assert WorkerStatus.objects.get(worker=alice).state == "warned"
    assert "flagged" in alice_client.get(f"/annotation/work/{project.pk}/").content.decode()
    Slot.objects.filter(worker=alice, state="leased").update(state="free", worker=None)
    take_and_submit(project, alice, seconds=1)

    assert WorkerStatus.objects.get(worker=alice).state == "stopped"
    assert item_next_for_worker(project=project, worker=alice).done
    html = alice_client.get(f"/annotation/work/{project.pk}/").content.decode()
    assert "SCR99" in html and "cc=SCR99" in html
    assert not Slot.objects.filter(worker=alice, state="leased").exists()


def test_a_blind_share_of_slots_hides_the_prelabel_and_it_is_recorded(db):
    project = project_with(0)
    project.blind_share = 0.5
    project.save()
    for n in range(40):
        item = ItemFactory(project=project, external_id=f"b{n}")
        Prelabel.objects.create(item=item, labels=labels(), model="m", prompt_version="v")
    slots_ensure(project=project)

    blind = Slot.objects.filter(project=project, blind=True).count()

    assert 8 <= blind <= 32  # about half of 40, deterministic per slot
    slot = Slot.objects.filter(project=project, blind=True).first()
    worker = UserFactory(username="blinded")
    Slot.objects.filter(pk=slot.pk).update(state="leased", worker=worker)
    result = annotation_submit(worker=worker, item=slot.item, labels=labels(), seconds=10)
    assert result.annotation.saw_prelabel is False
    assert result.annotation.prelabel_kept is None


def test_roles_need_reference_labels_and_known_ids(db):
    project = project_with(1)
    ItemFactory(project=project, external_id="plain", reference_labels=None)

    with pytest.raises(ValidationError) as missing:
        items_set_role(project=project, role="gold", external_ids=["nope"])
    with pytest.raises(ValidationError) as unlabelled:
        items_set_role(project=project, role="gold", external_ids=["plain"])
    with pytest.raises(ValidationError) as bad_role:
        items_set_role(project=project, role="boss", count=1)

    assert "external_ids" in missing.value.message_dict
    assert "reference labels" in str(unlabelled.value)
    assert "role" in bad_role.value.message_dict
