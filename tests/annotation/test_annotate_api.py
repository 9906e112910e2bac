"""The annotate loop over the API (contracts.md): next, submit, heartbeat, release, exclusion."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.assignment import slots_ensure
from annotation.models import Annotation, Slot
from annotation.quality import items_set_role
from tests.annotation.factories import ItemFactory, PrelabelFactory, ProjectFactory, labels
from tests.factories import ParticipationFactory, StudyFactory


@pytest.fixture
def project(db):
    project = ProjectFactory(overlap=2, blind_share=0, gold_rate=0)
    for _ in range(3):
        ItemFactory(project=project)
    slots_ensure(project=project)
    return project


def next_url(project) -> str:
    return f"/api/annotation/projects/{project.pk}/next/"


def submit_url(item_id: int) -> str:
    return f"/api/annotation/items/{item_id}/annotations/"


def test_next_leases_an_item_with_its_prelabel_and_dimensions(api_for, alice, project):
    item = project.items.first()
    PrelabelFactory(item=item, labels=labels(benevolence=1), rationales={"benevolence": "Kind."})

    response = api_for(alice).get(next_url(project))

    assert response.status_code == 200
    body = response.json()["item"]
    assert body["id"] == item.pk
    assert body["prompt"] == item.prompt and body["response"] == item.response
    assert body["prelabel"]["labels"]["benevolence"] == 1
    assert body["prelabel"]["rationales"] == {"benevolence": "Kind."}
    assert body["dimensions"][0] == "self_direction" and len(body["dimensions"]) == 10


def test_submit_stores_once_201_then_200(api_for, alice, project):
    client = api_for(alice)
    item_id = client.get(next_url(project)).json()["item"]["id"]

    first = client.post(submit_url(item_id), {"labels": labels(power=-1)}, format="json")
    again = client.post(submit_url(item_id), {"labels": labels(power=1)}, format="json")

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Annotation.objects.get().labels["power"] == -1


def test_the_loop_ends_with_204_once_nothing_is_left(api_for, alice, project):
    client = api_for(alice)
    for _ in range(3):
        item_id = client.get(next_url(project)).json()["item"]["id"]
        assert (
            client.post(submit_url(item_id), {"labels": labels()}, format="json").status_code == 201
        )

    assert client.get(next_url(project)).status_code == 204


def test_next_says_retry_later_while_others_hold_the_last_slots(api_for, alice, bob, db):
    project = ProjectFactory(overlap=1, blind_share=0, gold_rate=0)
    ItemFactory(project=project)
    api_for(alice).get(next_url(project))

    response = api_for(bob).get(next_url(project))

    assert response.status_code == 200
    assert response.json()["item"] is None
    assert response.json()["retry_after"] >= 1
    assert response["Retry-After"] == str(response.json()["retry_after"])


@pytest.mark.parametrize(
    ("given", "field"),
    [
        (labels(power=2), "labels.power"),
        (labels(power="yes"), "labels.power"),
        ({k: v for k, v in labels().items() if k != "tradition"}, "labels.tradition"),
        ({**labels(), "humility": 1}, "labels.humility"),
    ],
)
def test_bad_labels_are_refused_naming_the_field_and_nothing_is_stored(
    api_for, alice, project, given, field
):
    client = api_for(alice)
    item_id = client.get(next_url(project)).json()["item"]["id"]

    response = client.post(submit_url(item_id), {"labels": given}, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Annotation.objects.exists()
    assert Slot.objects.get(worker=alice).state == "leased"


def test_an_item_not_leased_to_you_is_refused_403(api_for, alice, bob, project):
    item_id = api_for(alice).get(next_url(project)).json()["item"]["id"]
    other = project.items.exclude(pk=item_id).first()

    stolen = api_for(bob).post(submit_url(item_id), {"labels": labels()}, format="json")
    never = api_for(bob).post(submit_url(other.pk), {"labels": labels()}, format="json")

    assert stolen.status_code == 403 and "item" in stolen.json()
    assert never.status_code == 403
    assert not Annotation.objects.exists()


def test_an_item_of_another_project_is_refused_400(api_for, alice, project):
    other_project = ProjectFactory(blind_share=0)
    client = api_for(alice)
    item_id = client.get(next_url(project)).json()["item"]["id"]

    response = client.post(
        submit_url(item_id), {"labels": labels(), "project": other_project.pk}, format="json"
    )

    assert response.status_code == 400
    assert "item" in response.json()
    assert not Annotation.objects.exists()


def test_heartbeat_extends_the_lease_and_release_gives_it_back(api_for, alice, bob, db):
    project = ProjectFactory(overlap=1, blind_share=0, gold_rate=0, lease_seconds=60)
    item = ItemFactory(project=project)
    client = api_for(alice)
    client.get(next_url(project))
    soon = timezone.now() + timedelta(seconds=5)
    Slot.objects.filter(item=item).update(lease_expires=soon)

    beat = client.post(f"/api/annotation/items/{item.pk}/lease/heartbeat/")
    extended = Slot.objects.get(item=item).lease_expires
    released = client.post(f"/api/annotation/items/{item.pk}/lease/release/")
    again = client.post(f"/api/annotation/items/{item.pk}/lease/release/")

    assert beat.status_code == 200 and beat.json()["item"] == item.pk
    assert extended > soon + timedelta(seconds=50)
    assert released.json() == {"released": True}
    assert again.json() == {"released": False}
    assert api_for(bob).get(next_url(project)).json()["item"]["id"] == item.pk
    assert client.post(f"/api/annotation/items/{item.pk}/lease/heartbeat/").status_code == 403


def test_only_the_studys_participants_may_label_its_project(api_for, alice, bob, db):
    study = StudyFactory()
    project = ProjectFactory(study=study, blind_share=0, gold_rate=0)
    ItemFactory(project=project)
    ParticipationFactory(study=study, user=alice)

    assert api_for(alice).get(next_url(project)).status_code == 200
    assert api_for(bob).get(next_url(project)).status_code == 403


def test_anonymous_callers_are_refused(api_for, project):
    assert api_for(None).get(next_url(project)).status_code in (401, 403)


def test_a_researcher_excludes_a_worker_and_their_slots_reopen(api_for, alice, bob, rita, db):
    project = ProjectFactory(overlap=1, blind_share=0, gold_rate=0)
    item = ItemFactory(project=project)
    client = api_for(alice)
    client.post(
        submit_url(client.get(next_url(project)).json()["item"]["id"]),
        {"labels": labels()},
        format="json",
    )
    assert api_for(bob).get(next_url(project)).status_code == 204

    refused = api_for(alice).post(
        f"/api/annotation/projects/{project.pk}/workers/{alice.pseudonym}/exclude/"
    )
    response = api_for(rita).post(
        f"/api/annotation/projects/{project.pk}/workers/{alice.pseudonym}/exclude/"
    )

    assert refused.status_code == 403
    assert response.json()["reopened_slots"] == 1
    assert api_for(bob).get(next_url(project)).json()["item"]["id"] == item.pk
    assert api_for(alice).get(next_url(project)).status_code == 204
    rows = api_for(rita).get(f"/api/annotation/projects/{project.pk}/workers/").json()
    assert {row["worker"]: row["state"] for row in rows}[alice.pseudonym] == "excluded"


def test_a_researcher_sets_quality_settings_gold_items_and_attention_checks(api_for, rita, db):
    project = ProjectFactory(overlap=1, blind_share=0, gold_rate=0)
    for n in range(4):
        ItemFactory(project=project, external_id=f"g{n}", reference_labels=labels(power=1))
    client = api_for(rita)
    base = f"/api/annotation/projects/{project.pk}"

    settings = client.patch(
        f"{base}/settings/",
        {"overlap": 2, "gold_rate": 0.2, "screenout_code": "SO1"},
        format="json",
    )
    bad = client.patch(f"{base}/settings/", {"gold_rate": 3}, format="json")
    gold = client.post(f"{base}/items/role/", {"role": "gold", "count": 2}, format="json")
    checks = client.post(f"{base}/attention-checks/", {"n": 2}, format="json")

    assert settings.status_code == 200 and settings.json()["overlap"] == 2
    # Every item got its second slot; the two made gold then left the pool.
    assert Slot.objects.filter(project=project, position=1).count() == 2
    assert bad.status_code == 400 and "gold_rate" in bad.json()
    assert gold.json() == {"changed": 2}
    assert checks.json() == {"items": ["attention-1", "attention-2"]}
    assert not Slot.objects.filter(item__is_gold=True, state="free").exists()


def test_a_participant_cannot_change_settings(api_for, alice, project):
    response = api_for(alice).patch(
        f"/api/annotation/projects/{project.pk}/settings/", {"overlap": 9}, format="json"
    )

    assert response.status_code == 403


def test_a_gold_item_looks_like_any_other_item_to_the_worker(api_for, alice, db):
    project = ProjectFactory(overlap=1, blind_share=0, gold_rate=1.0)
    ItemFactory(project=project, external_id="gold", reference_labels=labels(power=1))
    ItemFactory(project=project)
    items_set_role(project=project, role="gold", external_ids=["gold"])

    body = api_for(alice).get(next_url(project)).json()["item"]

    assert body["id"] == project.items.get(external_id="gold").pk
    assert body["kind"] == "task"
    assert "reference" not in str(body)
