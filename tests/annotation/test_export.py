"""Exporting annotations: the contracts' JSONL shape, aggregation, pseudonyms, streaming."""

import io
import json
from types import GeneratorType

import pytest
from django.core.management import CommandError, call_command

from annotation.selectors import project_export_lines
from tests.annotation.factories import (
    SCHWARTZ10,
    AnnotationFactory,
    ItemFactory,
    PrelabelFactory,
    ProjectFactory,
    labels,
)

pytestmark = pytest.mark.django_db

EXPORT_KEYS = [
    "id",
    "prompt",
    "response",
    "source",
    "scheme",
    "labels",
    "vector",
    "n_annotations",
    "agreement",
    "prelabel",
    "reference",
    "annotations",
    "label_source",  # added after the contract's keys: adjudicated / unanimous / majority
]


def export(project, **options) -> list[dict]:
    return [json.loads(line) for line in project_export_lines(project=project, **options)]


@pytest.fixture
def labelled_project(alice, bob, rita):
    """A project whose first item three people labelled (and was pre-labelled); the second not."""
    project = ProjectFactory(slug="labelled")
    item = ItemFactory(
        project=project, external_id="x1", reference_labels=labels(power=-1, security=1)
    )
    PrelabelFactory(item=item, labels=labels(security=1), rationale="Safe.", model="m1")
    AnnotationFactory(item=item, annotator=alice, labels=labels(power=1, security=1, hedonism=1))
    AnnotationFactory(item=item, annotator=bob, labels=labels(power=1, security=-1, hedonism=-1))
    AnnotationFactory(
        item=item,
        annotator=rita,
        labels=labels(power=-1, security=1),
        seconds=3,
        page_version="label-2",
    )
    ItemFactory(project=project, external_id="x2", source="")
    return project


def test_each_annotation_says_the_page_version_it_was_given_on(labelled_project):
    [first, _] = export(labelled_project)

    # The API's and older annotations have none (""); the labelling page's name their version.
    assert [row["page_version"] for row in first["annotations"]] == ["", "", "label-2"]


def test_each_line_has_the_contract_keys_in_the_contract_order(labelled_project):
    records = export(labelled_project)

    assert [list(record) for record in records] == [EXPORT_KEYS, EXPORT_KEYS]
    first = records[0]
    assert first["id"] == "x1" and first["scheme"] == "schwartz10"
    assert list(first["labels"]) == SCHWARTZ10
    assert list(first["annotations"][0]) == [
        "annotator",
        "labels",
        "saw_prelabel",
        "seconds",
        "created",
        "page_version",  # added 2026-12: the labelling page the labels were given on
    ]


def test_labels_are_the_majority_with_ties_to_zero_and_the_vector_follows_the_scheme(
    labelled_project,
):
    [first, _] = export(labelled_project)

    assert first["labels"] == labels(power=1, security=1)  # hedonism: 1, -1, 0 is a tie
    assert first["vector"] == [first["labels"][key] for key in SCHWARTZ10]
    assert first["n_annotations"] == 3


def test_agreement_is_the_share_agreeing_with_the_aggregate(labelled_project):
    [first, _] = export(labelled_project)

    assert first["agreement"]["power"] == pytest.approx(2 / 3, abs=1e-4)
    assert first["agreement"]["hedonism"] == pytest.approx(1 / 3, abs=1e-4)
    assert first["agreement"]["tradition"] == 1.0


def test_annotators_appear_only_by_pseudonym(labelled_project, alice, bob, rita):
    text = "".join(project_export_lines(project=labelled_project))
    [first, _] = [json.loads(line) for line in text.splitlines()]

    assert [a["annotator"] for a in first["annotations"]] == [
        alice.pseudonym,
        bob.pseudonym,
        rita.pseudonym,
    ]
    for username in ("alice", "bob", "rita"):
        assert username not in text


def test_prelabel_and_reference_are_given_and_null_when_absent(labelled_project):
    first, second = export(labelled_project)

    assert first["prelabel"] == {"labels": labels(security=1), "model": "m1", "rationale": "Safe."}
    assert first["reference"] == labels(power=-1, security=1)
    assert (second["prelabel"], second["reference"], second["source"]) == (None, None, None)
    assert second["annotations"] == [] and second["n_annotations"] == 0


def test_complete_only_keeps_items_with_all_their_annotations(labelled_project):
    records = export(labelled_project, complete_only=True)

    assert [r["id"] for r in records] == ["x1"]


def test_the_export_is_a_generator_whose_queries_grow_per_chunk_not_per_item(
    django_assert_max_num_queries, alice
):
    project = ProjectFactory()
    for _ in range(30):
        AnnotationFactory(item=ItemFactory(project=project), annotator=alice)

    lines = project_export_lines(project=project, chunk_size=10)

    assert isinstance(lines, GeneratorType)
    # 1 for the scheme, then per chunk of 10: the items and their annotations.
    with django_assert_max_num_queries(1 + 3 * 2 + 2):
        assert len(list(lines)) == 30


def test_the_export_loads_unchanged_with_datasets(labelled_project, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    datasets = pytest.importorskip("datasets")
    path = tmp_path / "export.jsonl"
    call_command("export_annotations", "labelled", "-o", str(path), stdout=io.StringIO())

    loaded = datasets.load_dataset(
        "json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache")
    )

    assert loaded.column_names == EXPORT_KEYS
    expected = [json.loads(line) for line in path.read_text().splitlines()]
    assert loaded[0]["labels"] == expected[0]["labels"]
    assert loaded[0]["vector"] == expected[0]["vector"]
    assert [a["annotator"] for a in loaded[0]["annotations"]] == [
        a["annotator"] for a in expected[0]["annotations"]
    ]
    assert loaded[1]["prelabel"] is None and loaded[1]["reference"] is None


def test_export_annotations_writes_to_stdout_when_no_file_is_given(labelled_project):
    out, err = io.StringIO(), io.StringIO()

    call_command("export_annotations", "labelled", stdout=out, stderr=err)

    assert [json.loads(line)["id"] for line in out.getvalue().splitlines()] == ["x1", "x2"]
    assert "exported 2 items" in err.getvalue()


def test_export_annotations_of_a_missing_project_fails_with_one_line():
    with pytest.raises(CommandError, match="no project 'ghost'"):
        call_command("export_annotations", "ghost")


def test_rita_streams_the_export_from_the_api(labelled_project, api_for, rita):
    response = api_for(rita).get(f"/api/annotation/projects/{labelled_project.pk}/export/")

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("application/x-ndjson")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["x1", "x2"]


def test_the_api_sends_the_export_in_pieces_of_many_lines_not_a_write_per_line(
    labelled_project, api_for, rita
):
    for n in range(300):
        ItemFactory(project=labelled_project, external_id=f"more-{n}", response="x" * 300)

    response = api_for(rita).get(f"/api/annotation/projects/{labelled_project.pk}/export/")

    pieces = list(response.streaming_content)
    lines = b"".join(pieces).decode().splitlines()
    assert len(lines) == 302
    assert 1 < len(pieces) < 302 // 10
    assert all(piece.endswith(b"\n") for piece in pieces), "a piece ends mid-line"


def test_the_api_export_filters_complete_only_and_accepts_an_ndjson_accept_header(
    labelled_project, api_for, rita
):
    response = api_for(rita).get(
        f"/api/annotation/projects/{labelled_project.pk}/export/?complete_only=1",
        HTTP_ACCEPT="application/x-ndjson",
    )

    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["x1"]


def test_alice_may_not_export(labelled_project, api_for, alice):
    response = api_for(alice).get(f"/api/annotation/projects/{labelled_project.pk}/export/")

    assert response.status_code == 403


def test_training_items_and_attention_checks_are_not_exported(labelled_project):
    ItemFactory(project=labelled_project, external_id="practice", kind="training")
    ItemFactory(project=labelled_project, external_id="check", kind="attention")

    assert [record["id"] for record in export(labelled_project)] == ["x1", "x2"]


def test_an_excluded_workers_labels_no_longer_count(labelled_project, bob):
    bob.annotations.update(excluded=True)

    first = export(labelled_project)[0]

    assert first["n_annotations"] == 2
    assert [a["labels"]["power"] for a in first["annotations"]] == [1, -1]
    assert export(labelled_project, complete_only=True) == []
