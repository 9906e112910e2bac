"""The annotate loop's API stores what the general services store, common case or not.

``annotation.loop`` answers the common case (a regular item, an active worker, no flag) in a
couple of statements and hands everything else to ``item_next_for_worker`` /
``annotation_submit``. These tests go through the API as a script would, and check the rows a
researcher reads afterwards: the pre-label shown or hidden, kept or changed, the time spent, the
worker's counters and flags.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.assignment import slots_ensure
from annotation.models import Annotation, Prelabel, QualityFlag, Slot, WorkerStatus
from tests.annotation.factories import ItemFactory, ProjectFactory, labels

pytestmark = pytest.mark.django_db


def make_project(n_items=4, *, prelabelled=True, **fields):
    settings = {"overlap": 1, "blind_share": 0, "gold_rate": 0, "min_seconds": 0}
    project = ProjectFactory(**(settings | fields))
    for n in range(n_items):
        item = ItemFactory(project=project, external_id=f"i{n}")
        if prelabelled:
            Prelabel.objects.create(
                item=item,
                labels=labels(power=1),
                rationales={"power": "It is about control."},
                model="m",
                prompt_version="v",
                created=timezone.now() - timedelta(hours=1),
            )
    Prelabel.objects.update(created=timezone.now() - timedelta(hours=1))
    slots_ensure(project=project)
    return project


def next_item(client, project) -> dict:
    response = client.get(f"/api/annotation/projects/{project.pk}/next/")
    assert response.status_code == 200, response.content
    return response.json()["item"]


def submit(client, item, given, seconds=12.5):
    return client.post(
        f"/api/annotation/items/{item['id']}/annotations/",
        {"labels": given, "seconds": seconds},
        format="json",
    )


def backdate_lease(worker, seconds=120):
    Slot.objects.filter(worker=worker, state="leased").update(
        leased_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_next_shows_the_prelabel_with_its_rationales_and_the_lease(api_for, alice):
    project = make_project()
    client = api_for(alice)
    client.get(f"/api/annotation/projects/{project.pk}/next/")  # first contact: the status
    Slot.objects.filter(worker=alice).update(state="free", worker=None, leased_at=None)

    item = next_item(client, project)

    slot = Slot.objects.get(worker=alice, state="leased")
    assert item["id"] == slot.item_id and item["kind"] == "task"
    assert item["prelabel"]["labels"] == labels(power=1)
    assert item["prelabel"]["rationales"] == {"power": "It is about control."}
    assert item["dimensions"][0] == "self_direction" and len(item["dimensions"]) == 10
    assert item["lease_expires"].startswith(slot.lease_expires.isoformat()[:19])


def test_submit_records_kept_and_changed_dimensions_the_time_and_the_counters(api_for, alice):
    project = make_project()
    client = api_for(alice)
    item = next_item(client, project)
    item = next_item(client, project)  # the same lease again: a reload
    backdate_lease(alice)

    response = submit(client, item, labels(power=1, benevolence=1), seconds=12.5)

    assert response.status_code == 201
    body = response.json()
    assert body["saw_prelabel"] is True and body["worker_state"] == "active"
    annotation = Annotation.objects.get(pk=body["id"])
    assert annotation.labels == labels(power=1, benevolence=1)
    assert annotation.saw_prelabel is True and annotation.seconds == 12.5
    assert annotation.prelabel_kept["power"] is True
    assert annotation.prelabel_kept["benevolence"] is False
    status = WorkerStatus.objects.get(worker=alice, project=project)
    assert (status.n_done, status.same_streak, status.kept_streak) == (1, 0, 0)
    assert Slot.objects.get(item_id=item["id"], worker=alice).state == "done"


def test_a_page_claiming_more_time_than_passed_is_held_to_the_lease(api_for, alice):
    project = make_project()
    client = api_for(alice)
    item = next_item(client, project)
    backdate_lease(alice, seconds=30)

    response = submit(client, item, labels(power=1), seconds=4000)

    assert 29 <= Annotation.objects.get(pk=response.json()["id"]).seconds <= 32


def test_streaks_counted_on_the_common_path_raise_the_flag_on_the_nth_item(api_for, alice):
    project = make_project(4, straightline_streak=3)
    client = api_for(alice)

    for n in range(3):
        item = next_item(client, project)
        backdate_lease(alice)
        assert submit(client, item, labels(power=1)).status_code == 201
        if n < 2:
            assert not QualityFlag.objects.exists()

    status = WorkerStatus.objects.get(worker=alice, project=project)
    assert status.kept_streak == 3 and status.n_done == 3 and status.n_flags == 1
    assert list(QualityFlag.objects.values_list("kind", flat=True)) == ["prelabel_streak"]


def test_a_too_fast_item_is_flagged_through_the_api(api_for, alice):
    project = make_project(2, min_seconds=4)
    client = api_for(alice)
    item = next_item(client, project)
    backdate_lease(alice)

    submit(client, item, labels(power=1), seconds=1.0)

    flag = QualityFlag.objects.get(worker=alice)
    assert flag.kind == "too_fast" and flag.annotation.item_id == item["id"]
    assert WorkerStatus.objects.get(worker=alice).n_done == 1


def test_a_blind_slot_hides_the_prelabel_and_records_that_it_was_not_seen(api_for, alice):
    project = make_project(1)
    Slot.objects.filter(project=project).update(blind=True)
    client = api_for(alice)

    item = next_item(client, project)
    backdate_lease(alice)
    response = submit(client, item, labels(power=1))

    assert item["prelabel"] is None
    annotation = Annotation.objects.get(pk=response.json()["id"])
    assert annotation.saw_prelabel is False and annotation.prelabel_kept is None


def test_a_prelabel_that_arrived_after_the_item_was_handed_out_was_not_seen(api_for, alice):
    project = make_project(1, prelabelled=False)
    client = api_for(alice)
    item = next_item(client, project)
    Prelabel.objects.create(
        item_id=item["id"], labels=labels(power=1), model="m", prompt_version="v"
    )

    response = submit(client, item, labels(power=1))

    assert item["prelabel"] is None
    assert Annotation.objects.get(pk=response.json()["id"]).saw_prelabel is False


def test_labels_of_an_expired_lease_nobody_took_are_still_kept(api_for, alice):
    project = make_project(1)
    client = api_for(alice)
    item = next_item(client, project)
    # The lease ran out and was reclaimed, but the slot is still free with the worker's name.
    Slot.objects.filter(worker=alice).update(state="free", lease_expires=None)

    response = submit(client, item, labels(power=1))

    assert response.status_code == 201
    assert Slot.objects.get(worker=alice).state == "done"


def test_an_item_whose_slot_went_to_someone_else_is_refused(api_for, alice, bob):
    project = make_project(1)
    client = api_for(alice)
    item = next_item(client, project)
    Slot.objects.filter(worker=alice).update(worker=bob)

    response = submit(client, item, labels(power=1))

    assert response.status_code == 403
    assert "not leased to you" in str(response.json())
    assert not Annotation.objects.exists()


def test_a_submit_naming_another_project_is_refused(api_for, alice):
    project, other = make_project(1), make_project(1)
    client = api_for(alice)
    item = next_item(client, project)

    response = client.post(
        f"/api/annotation/items/{item['id']}/annotations/",
        {"labels": labels(power=1), "project": other.pk},
        format="json",
    )

    assert response.status_code == 400 and "item" in response.json()
    assert not Annotation.objects.exists()


def test_an_unknown_project_or_item_is_404(api_for, alice):
    client = api_for(alice)

    assert client.get("/api/annotation/projects/999999/next/").status_code == 404
    unknown = client.post(
        "/api/annotation/items/999999/annotations/", {"labels": labels()}, format="json"
    )
    assert unknown.status_code == 404


def test_a_reload_answers_the_same_item_with_its_lease_renewed(api_for, alice):
    project = make_project(lease_seconds=600)
    client = api_for(alice)
    first = next_item(client, project)
    Slot.objects.filter(worker=alice).update(lease_expires=timezone.now() + timedelta(seconds=5))

    again = next_item(client, project)

    assert again == {**first, "lease_expires": again["lease_expires"]}
    slot = Slot.objects.get(worker=alice, state="leased")
    assert slot.item_id == first["id"]
    assert slot.lease_expires > timezone.now() + timedelta(seconds=590)
    assert again["lease_expires"].startswith(slot.lease_expires.isoformat()[:19])


def test_a_reload_of_a_blind_slot_still_hides_the_prelabel(api_for, alice):
    project = make_project(blind_share=1)
    client = api_for(alice)
    first = next_item(client, project)

    again = next_item(client, project)

    assert again["id"] == first["id"]
    assert first["prelabel"] is None and again["prelabel"] is None


def test_a_reload_in_training_answers_the_practice_item(api_for, alice):
    project = make_project()
    ItemFactory(project=project, external_id="practice", kind="training")
    client = api_for(alice)
    first = next_item(client, project)

    again = next_item(client, project)

    assert first["kind"] == "training" and again["id"] == first["id"]
    assert again["kind"] == "training"


def test_a_worker_stopped_while_holding_a_lease_gets_nothing_on_reload(api_for, alice):
    project = make_project()
    client = api_for(alice)
    next_item(client, project)
    WorkerStatus.objects.filter(worker=alice).update(state=WorkerStatus.State.STOPPED)

    response = client.get(f"/api/annotation/projects/{project.pk}/next/")

    assert response.status_code == 204


def test_a_participant_of_a_study_whose_labelling_task_names_the_project_may_use_the_api(
    api_for, alice, bob
):
    from core.models import Participation
    from tests.factories import StudyFactory, StudyTaskFactory

    project = make_project(study=StudyFactory())
    other = StudyFactory()
    StudyTaskFactory(
        study=other, kind="annotation.label", title="Label", config={"project": project.pk}
    )
    Participation.objects.create(study=other, user=alice)
    client = api_for(alice)

    item = next_item(client, project)  # as the labelling page lets them (worker_may_label)
    response = submit(client, item, labels(power=1))

    assert response.status_code == 201
    outsider = api_for(bob).get(f"/api/annotation/projects/{project.pk}/next/")
    assert outsider.status_code == 403
