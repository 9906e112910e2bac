"""Export filters: only complete items, only adjudicated ones, a date range; API, command, page."""

import io
import json
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from annotation.models import Annotation
from annotation.review import adjudication_save
from annotation.selectors import project_export_lines
from tests.annotation.factories import AnnotationFactory, ItemFactory, ProjectFactory, labels
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(rita):
    """old: labelled by three in October, adjudicated; new: by three in November; half: one."""
    project = ProjectFactory(slug="filters", overlap=3)
    workers = [UserFactory() for _ in range(3)]
    plans = {"old": (3, datetime(2026, 10, 5, 12, tzinfo=UTC)), "new": (3, None), "half": (1, None)}
    for external_id, (n, when) in plans.items():
        item = ItemFactory(project=project, external_id=external_id)
        for worker in workers[:n]:
            annotation = AnnotationFactory(item=item, annotator=worker, labels=labels(power=1))
            if when:
                Annotation.objects.filter(pk=annotation.pk).update(created=when)
    Annotation.objects.filter(item__external_id__in=["new", "half"]).update(
        created=datetime(2026, 11, 20, 9, tzinfo=UTC)
    )
    adjudication_save(item=project.items.get(external_id="old"), labels=labels(), reviewer=rita)
    return project


def ids(lines) -> list[str]:
    return [json.loads(line)["id"] for line in lines]


def test_selector_filters_combine(project):
    def exported(**filters):
        return ids(project_export_lines(project=project, **filters))

    november = datetime(2026, 11, 1, tzinfo=UTC)
    assert exported() == ["old", "new", "half"]
    assert exported(complete_only=True) == ["old", "new"]
    assert exported(adjudicated_only=True) == ["old"]
    assert exported(since=november) == ["new", "half"]
    assert exported(until=november) == ["old"]
    assert exported(since=november, complete_only=True) == ["new"]
    assert exported(since=november, adjudicated_only=True) == []


def test_a_record_in_range_keeps_all_its_annotations(project):
    [record] = map(
        json.loads,
        project_export_lines(
            project=project, since=datetime(2026, 11, 1, tzinfo=UTC), complete_only=True
        ),
    )
    assert record["n_annotations"] == 3 and len(record["annotations"]) == 3


def test_command_takes_the_filters_and_the_contract_command_line_still_works(project, tmp_path):
    out = io.StringIO()
    call_command(
        "export_annotations",
        "filters",
        "--since",
        "2026-11-01",
        "--complete-only",
        stdout=out,
        stderr=io.StringIO(),
    )
    assert ids(out.getvalue().splitlines()) == ["new"]

    out = io.StringIO()
    call_command(
        "export_annotations", "filters", "--adjudicated-only", stdout=out, stderr=io.StringIO()
    )
    [record] = map(json.loads, out.getvalue().splitlines())
    assert record["id"] == "old" and record["label_source"] == "adjudicated"
    assert record["labels"]["power"] == 0  # the reviewer's label, not the majority's +1

    path = tmp_path / "all.jsonl"
    call_command("export_annotations", "filters", "-o", str(path), stdout=io.StringIO())
    assert ids(path.read_text().splitlines()) == ["old", "new", "half"]


def test_command_names_a_bad_date(project):
    with pytest.raises(CommandError, match="--since: 'last week' is not a date"):
        call_command("export_annotations", "filters", "--since", "last week")
    with pytest.raises(CommandError, match="--until: must be after since"):
        call_command(
            "export_annotations", "filters", "--since", "2026-11-02", "--until", "2026-11-01"
        )


def test_api_filters_and_names_a_bad_date(project, api_for, rita):
    client = api_for(rita)
    url = f"/api/annotation/projects/{project.pk}/export/"

    response = client.get(url, {"adjudicated_only": "true"})
    assert ids(b"".join(response.streaming_content).decode().splitlines()) == ["old"]
    response = client.get(url, {"since": "2026-11-01T00:00:00Z", "until": "2026-12-01"})
    assert ids(b"".join(response.streaming_content).decode().splitlines()) == ["new", "half"]

    bad = client.get(url, {"until": "2026-13-40"})
    assert bad.status_code == 400
    assert "until" in bad.json()


def test_the_filtered_export_loads_unchanged_with_datasets(project, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    datasets = pytest.importorskip("datasets")
    path = tmp_path / "export.jsonl"
    call_command("export_annotations", "filters", "-o", str(path), stdout=io.StringIO())

    loaded = datasets.load_dataset(
        "json", data_files=str(path), split="train", cache_dir=str(tmp_path / "c")
    )

    assert loaded.num_rows == 3
    assert loaded["label_source"] == ["adjudicated", "unanimous", "unanimous"]
    assert loaded[0]["labels"]["power"] == 0


def test_project_page_offers_the_filtered_export(project, rita_client):
    html = rita_client.get("/annotation/projects/filters/").content.decode()
    assert f'action="/api/annotation/projects/{project.pk}/export/"' in html
    for name in ("complete_only", "labelled_only", "adjudicated_only", "since", "until"):
        assert f'name="{name}"' in html


def test_an_item_nobody_labelled_exports_null_labels_and_can_be_left_out(
    project, api_for, rita, tmp_path, monkeypatch
):
    ItemFactory(project=project, external_id="nobody")

    [*_, record] = map(json.loads, project_export_lines(project=project))
    assert record["id"] == "nobody"
    assert (record["labels"], record["vector"], record["n_annotations"]) == (None, None, 0)
    labelled = ids(project_export_lines(project=project, labelled_only=True))
    assert labelled == ["old", "new", "half"]

    url = f"/api/annotation/projects/{project.pk}/export/"
    response = api_for(rita).get(url, {"labelled_only": "1"})
    assert ids(b"".join(response.streaming_content).decode().splitlines()) == labelled
    out = io.StringIO()
    call_command("export_annotations", "filters", "--labelled-only", stdout=out)
    assert ids(out.getvalue().splitlines()) == labelled

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    datasets = pytest.importorskip("datasets")
    path = tmp_path / "export.jsonl"
    call_command("export_annotations", "filters", "-o", str(path), stdout=io.StringIO())
    loaded = datasets.load_dataset(
        "json", data_files=str(path), split="train", cache_dir=str(tmp_path / "c")
    )
    assert loaded.num_rows == 4 and loaded[3]["labels"] is None and loaded[3]["vector"] is None
