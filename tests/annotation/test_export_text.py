"""The export's text: each line is exactly what json.dumps writes for its record.

The export builds its lines from pieces (label dicts encoded once, rows read as the database's
text); these tests pin the text a reader sees to the record json.dumps would have written.
"""

import json
from datetime import UTC, datetime

import pytest

from annotation.models import Adjudication, Annotation
from annotation.selectors import export as selectors
from annotation.selectors import project_export_lines
from tests.annotation.factories import (
    SCHWARTZ10,
    AnnotationFactory,
    ItemFactory,
    PrelabelFactory,
    ProjectFactory,
    labels,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def reversed_order(given: dict) -> dict:
    return dict(reversed(given.items()))


@pytest.fixture
def awkward_project(alice, bob, rita):
    """Items whose text, labels and timestamps each take an unusual path into JSON."""
    project = ProjectFactory(slug="awkward")
    odd = ItemFactory(
        project=project,
        external_id="ünï-1",
        prompt="Что мне делать? 😀",
        response='He said "no"\n\tand left \\ quietly.\u2028',
        source="",
        reference_labels=reversed_order(labels(power=-1, security=1)),
    )
    PrelabelFactory(
        item=odd, labels=reversed_order(labels(security=1)), rationale="Sûr.", model="m/1"
    )
    # Out of scheme order, one dimension left out and one the scheme does not know.
    partial = {"zeal": 1, **reversed_order(labels(power=1, security=-1))}
    del partial["hedonism"]
    AnnotationFactory(item=odd, annotator=alice, labels=partial, seconds=3)
    AnnotationFactory(item=odd, annotator=bob, labels=labels(power=1, hedonism=-1), seconds=7.25)
    on_the_hour = AnnotationFactory(item=odd, annotator=rita, labels=labels(power=-1))
    Annotation.objects.filter(pk=on_the_hour.pk).update(created=datetime(2020, 1, 6, 9, tzinfo=UTC))
    judged = ItemFactory(project=project, external_id="judged")
    AnnotationFactory(item=judged, annotator=alice, labels=labels(tradition=1))
    Adjudication.objects.create(item=judged, labels={"tradition": -1}, reviewer=rita)
    ItemFactory(project=project, external_id="untouched", reference_labels={})
    return project


def test_every_line_is_the_json_dumps_of_its_record(awkward_project):
    lines = list(project_export_lines(project=awkward_project))

    assert len(lines) == 3
    for line in lines:
        assert line == json.dumps(json.loads(line), ensure_ascii=False) + "\n"
    assert "Что мне делать? 😀" in lines[0]  # not \u-escaped


def test_label_dicts_come_in_scheme_order_with_unknown_keys_last(awkward_project):
    first = json.loads(next(project_export_lines(project=awkward_project)))

    annotation_keys = [list(a["labels"]) for a in first["annotations"]]
    without_hedonism = [key for key in SCHWARTZ10 if key != "hedonism"]
    # rita's is the oldest, then alice's, then bob's.
    assert annotation_keys == [SCHWARTZ10, without_hedonism + ["zeal"], SCHWARTZ10]
    assert list(first["prelabel"]["labels"]) == SCHWARTZ10
    assert list(first["reference"]) == SCHWARTZ10
    assert first["prelabel"] == {"labels": labels(security=1), "model": "m/1", "rationale": "Sûr."}


def test_a_dimension_an_annotator_left_out_counts_only_those_who_labelled_it(awkward_project):
    first = json.loads(next(project_export_lines(project=awkward_project)))

    # hedonism: bob -1, rita 0 (alice left it out): a tie, so 0, agreed by one of two.
    assert first["labels"]["hedonism"] == 0
    assert first["agreement"]["hedonism"] == 0.5
    assert first["labels"]["power"] == 1 and first["agreement"]["power"] == pytest.approx(0.6667)
    assert first["label_source"] == "majority"


def test_annotations_carry_their_time_and_seconds_as_the_database_has_them(awkward_project):
    first = json.loads(next(project_export_lines(project=awkward_project)))

    stored = Annotation.objects.filter(item__external_id="ünï-1").order_by("created", "pk")
    assert [a["created"] for a in first["annotations"]] == [
        annotation.created.isoformat() for annotation in stored
    ]
    assert "2020-01-06T09:00:00+00:00" in [a["created"] for a in first["annotations"]]
    seconds = {a["annotator"]: a["seconds"] for a in first["annotations"]}
    assert sorted(seconds.values()) == [3.0, 7.25, 12.5]
    assert all(isinstance(value, float) for value in seconds.values())


def test_adjudicated_and_unlabelled_items(awkward_project):
    _, judged, untouched = (
        json.loads(line) for line in project_export_lines(project=awkward_project)
    )

    assert judged["labels"] == labels(tradition=-1)
    assert judged["vector"][SCHWARTZ10.index("tradition")] == -1
    assert judged["agreement"]["tradition"] == 1.0  # alice's own label still agrees with herself
    assert judged["label_source"] == "adjudicated"
    # Nobody labelled it: null, never "unrelated on every value".
    assert untouched["labels"] is None and untouched["vector"] is None
    assert untouched["n_annotations"] == 0
    assert untouched["agreement"] == dict.fromkeys(SCHWARTZ10, 0.0)
    assert (untouched["reference"], untouched["label_source"]) == (None, None)


def test_each_item_gets_its_own_annotations_when_other_items_lie_between_them():
    ours, theirs = ProjectFactory(slug="ours"), ProjectFactory(slug="theirs")
    expected = {}
    for n in range(7):
        # Ids interleave: another project's item, then a practice item, after each of ours.
        for project, kind in ((ours, "task"), (theirs, "task"), (ours, "training")):
            item = ItemFactory(project=project, kind=kind)
            workers = [UserFactory() for _ in range(1 + n % 3)]
            for worker in workers:
                AnnotationFactory(item=item, annotator=worker)
            if project == ours and kind == "task":
                expected[item.external_id] = sorted(worker.pseudonym for worker in workers)

    records = [json.loads(line) for line in project_export_lines(project=ours, chunk_size=2)]

    assert {
        record["id"]: sorted(a["annotator"] for a in record["annotations"]) for record in records
    } == expected


def test_the_text_is_the_same_when_the_writers_caches_overflow(awkward_project, monkeypatch):
    for n in range(20):
        item = ItemFactory(project=awkward_project)
        for worker, power in zip([UserFactory(), UserFactory()], (n % 3 - 1, n % 2), strict=True):
            AnnotationFactory(
                item=item, annotator=worker, labels=labels(power=power, security=n % 3 - 1)
            )
    roomy = "".join(project_export_lines(project=awkward_project))

    monkeypatch.setattr(selectors._ExportLineWriter, "MAX_LABEL_TEXTS", 1)
    monkeypatch.setattr(selectors._ExportLineWriter, "MAX_COLUMNS", 1)
    cramped = "".join(project_export_lines(project=awkward_project, chunk_size=3))

    assert cramped == roomy
    assert roomy.count("\n") == 23  # not splitlines(): U+2028 in a response is no line end
