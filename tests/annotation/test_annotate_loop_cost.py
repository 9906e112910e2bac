"""What the annotate loop costs the database, and the repeated submits its shortcuts must keep."""

import pytest
from django.db import connection
from django.utils import timezone

from annotation.assignment import slots_ensure
from annotation.loop import next_for_worker
from annotation.models import Annotation, Slot, WorkerStatus
from tests.annotation.factories import ItemFactory, PrelabelFactory, ProjectFactory, labels


@pytest.fixture
def project(db):
    project = ProjectFactory(overlap=2, blind_share=0, gold_rate=0, min_seconds=0)
    for _ in range(4):
        PrelabelFactory(item=ItemFactory(project=project))
    slots_ensure(project=project)
    return project


def cycle(client, project) -> tuple:
    item = client.get(f"/api/annotation/projects/{project.pk}/next/").json()["item"]
    response = client.post(
        f"/api/annotation/items/{item['id']}/annotations/",
        {"labels": labels(power=1), "seconds": 0},
        format="json",
    )
    assert response.status_code == 201
    return item, response


def test_next_and_submit_stay_within_their_queries(
    api_for, alice, project, django_assert_max_num_queries
):
    client = api_for(alice)
    cycle(client, project)  # first contact creates the worker's status

    # Next: one statement reads the project, the worker's standing and any lease they hold;
    # one claims (on SQLite a second reads the item: no UPDATE inside WITH there). In a test's
    # transaction the claim also sets and releases a savepoint; outside one it runs on its own.
    with django_assert_max_num_queries(5 if connection.vendor == "sqlite" else 4):
        item = client.get(f"/api/annotation/projects/{project.pk}/next/").json()["item"]
    # Submit: one read, then one statement of three writes on PostgreSQL (in a savepoint here);
    # SQLite writes them one by one inside a transaction (here a savepoint).
    with django_assert_max_num_queries(6 if connection.vendor == "sqlite" else 4):
        response = client.post(
            f"/api/annotation/items/{item['id']}/annotations/",
            {"labels": labels(power=1), "seconds": 0},
            format="json",
        )
    assert response.status_code == 201


def test_a_reload_renews_the_lease_in_one_statement(
    api_for, alice, project, django_assert_num_queries
):
    client = api_for(alice)
    first = client.get(f"/api/annotation/projects/{project.pk}/next/").json()["item"]

    # One read of the project, the worker's standing and their lease; one statement renews the
    # lease and reads the item (on SQLite the item is read apart: no UPDATE inside WITH there).
    with django_assert_num_queries(3 if connection.vendor == "sqlite" else 2):
        again = client.get(f"/api/annotation/projects/{project.pk}/next/").json()["item"]

    assert again["id"] == first["id"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's commit setting")
def test_a_renewal_outside_a_transaction_leaves_the_connection_durable(alice):
    project = ProjectFactory(overlap=1, blind_share=0, gold_rate=0, lease_seconds=600)
    ItemFactory(project=project)
    slots_ensure(project=project)
    first = next_for_worker(project_id=project.pk, worker=alice).item
    Slot.objects.filter(worker=alice).update(lease_expires=timezone.now())

    again = next_for_worker(project_id=project.pk, worker=alice).item

    assert again["id"] == first["id"]
    assert Slot.objects.get(worker=alice).lease_expires == again["lease_expires"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


def test_a_repeated_submit_answers_the_first_even_with_bad_labels(api_for, alice, project):
    client = api_for(alice)
    item, first = cycle(client, project)

    again = client.post(
        f"/api/annotation/items/{item['id']}/annotations/",
        {"labels": {"power": 7}},
        format="json",
    )

    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Annotation.objects.filter(annotator=alice).count() == 1


def test_a_repeated_submit_answers_the_first_after_the_worker_was_stopped(api_for, alice, project):
    client = api_for(alice)
    item, first = cycle(client, project)
    WorkerStatus.objects.filter(worker=alice).update(state=WorkerStatus.State.STOPPED)

    again = client.post(
        f"/api/annotation/items/{item['id']}/annotations/",
        {"labels": labels(power=1)},
        format="json",
    )
    other = client.get(f"/api/annotation/projects/{project.pk}/next/")

    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 204  # and a stopped worker gets no more work


def test_a_stopped_worker_cannot_submit_a_new_item(api_for, alice, project):
    client = api_for(alice)
    item = client.get(f"/api/annotation/projects/{project.pk}/next/").json()["item"]
    WorkerStatus.objects.filter(worker=alice).update(state=WorkerStatus.State.STOPPED)

    response = client.post(
        f"/api/annotation/items/{item['id']}/annotations/",
        {"labels": labels(power=1)},
        format="json",
    )

    assert response.status_code == 403
    assert not Annotation.objects.exists()
