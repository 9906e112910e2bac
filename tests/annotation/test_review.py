"""Review: disputed items queue up; a reviewer sets final labels, once; the export uses them."""

import json

import pytest
from django.core.exceptions import ValidationError

from annotation.models import Adjudication
from annotation.review import adjudication_save, review_queue
from annotation.selectors import project_export_lines
from tests.annotation.factories import (
    AnnotationFactory,
    ItemFactory,
    PrelabelFactory,
    ProjectFactory,
    labels,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]


@pytest.fixture
def workers(three_workers):
    return three_workers


@pytest.fixture
def project(workers):
    """agree: all three the same; split: 2-1 on power; torn: -1/0/+1 on power; half: 2 of 3."""
    project = ProjectFactory(slug="kind", overlap=3)
    plans = {
        "agree": [labels(benevolence=1)] * 3,
        "split": [labels(power=1), labels(power=1), labels()],
        "torn": [labels(power=-1), labels(), labels(power=1)],
        "half": [labels(power=-1), labels(power=1)],
    }
    for external_id, given in plans.items():
        item = ItemFactory(
            project=project, external_id=external_id, prompt=f"<b>{external_id}</b>?"
        )
        for worker, item_labels in zip(workers, given, strict=False):
            AnnotationFactory(item=item, annotator=worker, labels=item_labels)
    PrelabelFactory(item=project.items.get(external_id="torn"), labels=labels(power=1))
    return project


def queue_ids(project, **kwargs):
    return [
        project.items.get(pk=e["item_id"]).external_id
        for e in review_queue(project=project, **kwargs)
    ]


def test_complete_items_under_the_threshold_queue_least_agreement_first(project):
    assert queue_ids(project, threshold=0.6) == ["torn"]  # split has 2/3, half is not complete
    assert queue_ids(project, threshold=0.7) == ["torn", "split"]
    entry = review_queue(project=project, threshold=0.7)[0]
    assert entry["disputed"] == ["power"] and entry["agreement"] == pytest.approx(1 / 3, abs=1e-4)


def test_queue_is_recomputed_when_labels_change(project, workers):
    assert queue_ids(project, threshold=0.6) == ["torn"]
    split = project.items.get(external_id="split")
    split.annotations.filter(annotator=workers[0]).update(labels=labels(power=-1))
    AnnotationFactory(item=project.items.get(external_id="half"), annotator=workers[2])

    assert queue_ids(project, threshold=0.6) == ["split", "torn", "half"]


def test_adjudicating_takes_the_item_out_of_the_queue_and_saving_again_keeps_one(project, rita):
    torn = project.items.get(external_id="torn")
    adjudication_save(item=torn, labels=labels(power=1), reviewer=rita, note="kind but bossy")
    adjudication_save(item=torn, labels=labels(power=1), reviewer=rita, note="kind but bossy")

    assert Adjudication.objects.filter(item=torn).count() == 1
    assert queue_ids(project, threshold=0.6) == []
    adjudication_save(item=torn, labels=labels(power=0), reviewer=rita)
    assert Adjudication.objects.get(item=torn).labels == labels(power=0)


@pytest.mark.parametrize(
    "bad, field",
    [
        ({**labels(), "power": 2}, "labels.power"),
        ({**labels(), "power": "+"}, "labels.power"),
        ({**labels(), "power": True}, "labels.power"),
        ({key: v for key, v in labels().items() if key != "power"}, "labels.power"),
        ({**labels(), "humility": 1}, "labels.humility"),
    ],
)
def test_bad_final_labels_name_the_field_and_store_nothing(project, rita, bad, field):
    with pytest.raises(ValidationError) as raised:
        adjudication_save(item=project.items.get(external_id="torn"), labels=bad, reviewer=rita)
    assert field in raised.value.message_dict
    assert not Adjudication.objects.exists()


def export(project) -> dict[str, dict]:
    return {
        record["id"]: record for record in map(json.loads, project_export_lines(project=project))
    }


def test_export_uses_final_labels_and_says_where_labels_come_from(project, rita):
    adjudication_save(
        item=project.items.get(external_id="torn"), labels=labels(power=1), reviewer=rita
    )

    records = export(project)

    assert records["torn"]["label_source"] == "adjudicated"
    assert records["torn"]["labels"]["power"] == 1
    assert records["torn"]["vector"][4] == 1
    assert records["agree"]["label_source"] == "unanimous"
    assert records["split"]["label_source"] == "majority"
    assert records["split"]["labels"]["power"] == 1


# --- pages -------------------------------------------------------------------------------------


def test_queue_page_lists_disputed_items(project, rita_client):
    html = rita_client.get("/annotation/projects/kind/review/").content.decode()
    assert "<code>torn</code>" in html and "&lt;b&gt;torn&lt;/b&gt;?" in html
    assert "<code>agree</code>" not in html


def test_item_page_shows_pseudonyms_side_by_side_with_the_prelabel(project, workers, rita_client):
    torn = project.items.get(external_id="torn")
    html = rita_client.get(f"/annotation/projects/kind/review/{torn.pk}/").content.decode()

    for worker in workers:
        assert worker.pseudonym in html
        assert worker.username not in html
    assert "The answer is kind." in html  # the pre-label's rationale
    assert 'name="label-power" value="0" checked' in html  # the majority (a tie -> 0) preselected


def test_reviewer_saves_final_labels_from_the_page(project, rita_client):
    torn = project.items.get(external_id="torn")
    form = {f"label-{key}": str(value) for key, value in labels(power=1).items()}

    response = rita_client.post(
        f"/annotation/projects/kind/review/{torn.pk}/", {**form, "note": "ok", "then": "queue"}
    )

    assert response.status_code == 302
    adjudication = Adjudication.objects.get(item=torn)
    assert adjudication.labels == labels(power=1) and adjudication.note == "ok"
    page = rita_client.get(f"/annotation/projects/kind/review/{torn.pk}/").content.decode()
    assert 'name="label-power" value="1" checked' in page


def test_a_missing_label_on_the_page_is_a_400_naming_it(project, rita_client):
    torn = project.items.get(external_id="torn")
    form = {f"label-{key}": "0" for key in labels() if key != "power"}
    response = rita_client.post(f"/annotation/projects/kind/review/{torn.pk}/", form)
    assert response.status_code == 400
    assert "labels.power" in response.content.decode()
    assert not Adjudication.objects.exists()


def test_review_pages_are_for_researchers_only(project, alice_client, anon):
    torn = project.items.get(external_id="torn")
    for client in (alice_client, anon):
        assert client.get("/annotation/projects/kind/review/").status_code == 302
        assert client.post(f"/annotation/projects/kind/review/{torn.pk}/", {}).status_code == 302
    assert not Adjudication.objects.exists()


def test_an_item_of_another_project_is_not_found(project, rita_client):
    other = ItemFactory(project=ProjectFactory(slug="other"))
    assert rita_client.get(f"/annotation/projects/kind/review/{other.pk}/").status_code == 404


# --- API ---------------------------------------------------------------------------------------


def test_api_lists_the_queue_and_puts_final_labels_idempotently(project, rita, api_for):
    client = api_for(rita)
    queue = client.get(
        f"/api/annotation/projects/{project.pk}/review/", {"threshold": "0.7"}
    ).json()
    assert queue["total"] == 2
    assert [entry["external_id"] for entry in queue["items"]] == ["torn", "split"]
    torn = queue["items"][0]["item_id"]

    url = f"/api/annotation/items/{torn}/adjudication/"
    first = client.put(url, {"labels": labels(power=1), "note": "n"}, format="json")
    again = client.put(url, {"labels": labels(power=1), "note": "n"}, format="json")

    assert first.status_code == again.status_code == 200
    assert again.json()["labels"]["power"] == 1 and again.json()["reviewer"] == "rita"
    assert Adjudication.objects.filter(item_id=torn).count() == 1
    assert client.get(url).json()["note"] == "n"
    assert client.get(f"/api/annotation/projects/{project.pk}/review/").json()["total"] == 0


def test_api_rejects_bad_final_labels_naming_the_dimension(project, rita, alice, api_for):
    torn = project.items.get(external_id="torn")
    url = f"/api/annotation/items/{torn.pk}/adjudication/"

    bad = api_for(rita).put(url, {"labels": {**labels(), "power": 5}}, format="json")
    assert bad.status_code == 400
    assert "labels.power" in str(bad.json())
    assert api_for(alice).put(url, {"labels": labels()}, format="json").status_code == 403
    assert not Adjudication.objects.exists()
