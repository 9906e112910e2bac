"""Items per participant is a setting of the study's labelling task: chosen on the New-study and
edit pages and in the API (a bad one is a 400 naming task and field); a participant of that
study labels exactly that many ("n of N", done at N), whatever the project's own quota."""

import re

import pytest
from django.test import Client

from annotation.assignment import slots_ensure
from core.models import Participation, Study
from core.selectors import participation_task_states
from core.services import study_create
from tests.annotation.factories import SCHWARTZ10, ItemFactory, ProjectFactory

pytestmark = pytest.mark.django_db

PID = "5f0c8a1b2c3d4e5f60718277"
NEW = "/researcher/studies/new/"


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture
def project():
    project = ProjectFactory(
        name="Chatbot answers",
        overlap=1,
        blind_share=0,
        gold_rate=0,
        min_seconds=0,
        quota_per_worker=5,
    )
    for n in range(6):
        ItemFactory(project=project, prompt=f"Prompt {n}?")
    slots_ensure(project=project)
    return project


def labelling(project, **config) -> dict:
    return {
        "kind": "annotation.label",
        "title": "Label",
        "config": {"project": project.pk, **config},
    }


def base(**extra):
    return {"title": "Items study", "slug": "items-study", "completion_code": "IT1", **extra}


def test_the_new_study_page_stores_the_items_per_participant(rita_client, project):
    page = rita_client.get(NEW).content.decode()
    assert "Items per participant" in page

    response = rita_client.post(
        NEW,
        base(
            **{
                "task-annotation_label-on": "on",
                "task-annotation_label-project": str(project.pk),
                "task-annotation_label-items_per_participant": "2",
            }
        ),
    )

    assert response.status_code == 302
    task = Study.objects.get(slug="items-study").tasks.get()
    assert task.config == {"project": project.pk, "items_per_participant": 2}
    edit = rita_client.get("/researcher/studies/items-study/edit/").content.decode()
    assert 'name="task-annotation_label-items_per_participant" value="2"' in edit


def test_left_empty_the_project_keeps_its_own_quota(rita_client, project):
    rita_client.post(
        NEW,
        base(
            **{
                "task-annotation_label-on": "on",
                "task-annotation_label-project": str(project.pk),
                "task-annotation_label-items_per_participant": "",
            }
        ),
    )
    assert Study.objects.get(slug="items-study").tasks.get().config == {"project": project.pk}


def test_a_bad_number_on_the_page_is_shown_beside_its_field(rita_client, project):
    response = rita_client.post(
        NEW,
        base(
            **{
                "task-annotation_label-on": "on",
                "task-annotation_label-project": str(project.pk),
                "task-annotation_label-items_per_participant": "0",
            }
        ),
    )
    assert response.status_code == 200
    field = response.content.decode().split('name="task-annotation_label-items_per_participant"')
    assert "greater than or equal to 1" in field[1].split("</div>")[0]
    assert not Study.objects.exists()


@pytest.mark.parametrize("bad", [0, -3, "two", 2.5, True, 10**9])
def test_the_api_refuses_a_bad_number_naming_the_task_and_field(api_for, rita, project, bad):
    body = base(
        tasks=[
            {"kind": "consent", "title": "Consent"},
            labelling(project, items_per_participant=bad),
        ]
    )

    response = api_for(rita).post("/api/studies/", body, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"tasks[1].config.items_per_participant"}
    assert "whole number" in response.json()["tasks[1].config.items_per_participant"][0]
    assert not Study.objects.exists()


def test_the_api_stores_it_on_create_and_on_replace(api_for, rita, project):
    client = api_for(rita)
    body = base(tasks=[labelling(project, items_per_participant="4")])
    assert client.post("/api/studies/", body, format="json").status_code == 201
    api = "/api/studies/items-study/tasks/"
    assert client.get(api).json()[0]["config"] == {
        "project": project.pk,
        "items_per_participant": 4,
    }

    refused = client.put(
        api, {"tasks": [labelling(project, items_per_participant=0)]}, format="json"
    )
    replaced = client.put(
        api, {"tasks": [labelling(project, items_per_participant=2)]}, format="json"
    )

    assert refused.status_code == 400 and "tasks[0].config.items_per_participant" in refused.json()
    assert replaced.status_code == 200
    assert replaced.json()[0]["config"] == {"project": project.pk, "items_per_participant": 2}


def label_one(worker: Client, project) -> str:
    from annotation.models import Slot

    slot = Slot.objects.get(project=project, state="leased")
    return worker.post(
        f"/annotation/work/{project.pk}/items/{slot.item_id}/",
        {"seconds": "9", **{f"label-{key}": "0" for key in SCHWARTZ10}},
    ).content.decode()


def test_the_participant_labels_exactly_the_items_per_participant(rita, project, api_for):
    study_create(
        created_by=rita,
        slug="items",
        title="Items",
        completion_code="ITEMS1",
        tasks=[labelling(project, items_per_participant=2)],
    )
    worker = Client()
    worker.get(f"/join/items/?PROLIFIC_PID={PID}")

    page = text(worker.get(f"/annotation/work/{project.pk}/").content.decode())
    assert "0 of 2 done" in page  # not "of 5", the project's own quota
    assert "1 of 2 done" in text(label_one(worker, project))
    done = text(label_one(worker, project))

    assert "2 of 2 done" in done and "All done" in done
    participation = Participation.objects.get(user__prolific_pid=PID)
    assert all(state.done for state in participation_task_states(participation=participation))
    assert "ITEMS1" in worker.get("/study/items/").content.decode()
    # The API's loop agrees: nothing more for them.
    assert (
        api_for(participation.user).get(f"/api/annotation/projects/{project.pk}/next/").status_code
        == 204
    )


def test_the_researchers_preview_counts_the_tasks_items(rita, rita_client, project):
    study_create(
        created_by=rita,
        slug="items",
        title="Items",
        completion_code="ITEMS1",
        tasks=[labelling(project, items_per_participant=2)],
    )
    study_page = rita_client.get("/researcher/studies/items/").content.decode()
    assert "Chatbot answers: 2 items per participant" in text(study_page)
    preview = re.search(r'href="(/annotation/work/\d+/preview/[^"]*)"', study_page)
    assert preview is not None and "items=2" in preview.group(1)

    assert "0 of 2 done" in text(
        rita_client.get(preview.group(1).replace("&amp;", "&")).content.decode()
    )
