"""The dashboard's reads of labels equal what a plain decode of every stored label gives.

The dashboard and the review queue read labels on a raw cursor and decode each distinct label
dict once; these tests hold those reads to the obvious computation over the ORM's rows.
"""

import random

import numpy as np
import pytest
from django.core.cache import cache

from annotation.models import Annotation, Item
from annotation.review import review_queue
from annotation.selectors import (
    counts_by_item,
    item_label_counts,
    item_labels_by_id,
    label_matrix,
    project_dashboard,
)
from tests.annotation.factories import (
    SCHWARTZ10,
    AnnotationFactory,
    ItemFactory,
    PrelabelFactory,
    ProjectFactory,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def plain_vector(stored: dict | None) -> list[int]:
    """Return the labels as the reference reads them: missing -> 0, clipped to -1..1."""
    stored = stored or {}
    return [max(-1, min(1, int(stored.get(key) or 0))) for key in SCHWARTZ10]


@pytest.fixture
def project(db):
    """Twenty items, three of five workers each, labels drawn at random (seeded): some dicts
    repeat, one lacks a dimension; a training item and an excluded worker's labels that must
    not count; pre-labels on most items, reference labels on a few."""
    cache.clear()
    rng = random.Random(3)
    project = ProjectFactory(slug="reads", overlap=3)
    workers = [UserFactory(username=f"reader{n}") for n in range(5)]
    for n in range(20):
        item = ItemFactory(project=project, external_id=f"r{n}", source=f"s{n % 3}")
        if n % 4:
            PrelabelFactory(item=item, labels={k: rng.choice((-1, 0, 1)) for k in SCHWARTZ10})
        if n % 5 == 0:
            item.is_gold = True
            item.reference_labels = {k: rng.choice((-1, 0, 0, 1)) for k in SCHWARTZ10}
            item.save()
        for worker in rng.sample(workers, 3):
            given = {k: rng.choice((-1, 0, 0, 1)) for k in SCHWARTZ10}
            if n == 7:
                del given["power"]  # an old label without one dimension
            AnnotationFactory(
                item=item,
                annotator=worker,
                labels=given,
                saw_prelabel=rng.random() < 0.5,
                seconds=rng.choice((4.0, 9.5, 30.0)),
                excluded=worker is workers[4],
            )
    training = ItemFactory(project=project, external_id="t0", kind="training")
    AnnotationFactory(item=training, annotator=workers[0], labels={k: 1 for k in SCHWARTZ10})
    yield project
    cache.clear()


def counted_rows(project):
    return list(
        Annotation.objects.filter(item__project=project, item__kind="task", excluded=False)
        .order_by("item_id", "annotator_id")
        .values_list("item_id", "annotator_id", "saw_prelabel", "seconds", "labels")
    )


def test_label_matrix_holds_every_counted_annotation_as_stored(project):
    rows = counted_rows(project)

    matrix = label_matrix(project=project, dimension_keys=SCHWARTZ10)

    assert np.all(np.diff(matrix["item"]) >= 0), "rows are in item order"
    order = np.lexsort((matrix["annotator"], matrix["item"]))
    assert matrix["item"][order].tolist() == [row[0] for row in rows]
    assert matrix["annotator"][order].tolist() == [row[1] for row in rows]
    assert matrix["saw_prelabel"][order].tolist() == [row[2] for row in rows]
    assert matrix["seconds"][order].tolist() == [row[3] for row in rows]
    assert matrix["labels"][order].tolist() == [plain_vector(row[4]) for row in rows]


def test_prelabels_and_reference_labels_read_as_stored(project):
    items = Item.objects.filter(project=project).order_by("pk")
    expected_prelabels = [
        (item.pk, plain_vector(item.prelabel.labels)) for item in items if hasattr(item, "prelabel")
    ]
    expected_references = [
        (item.pk, plain_vector(item.reference_labels))
        for item in items
        if item.reference_labels is not None
    ]

    ids, prelabels = item_labels_by_id(
        items=Item.objects.filter(project=project, prelabel__labeller="llm"),
        field="prelabel__labels",
        dimension_keys=SCHWARTZ10,
    )
    reference_ids, references = item_labels_by_id(
        items=Item.objects.filter(project=project, reference_labels__isnull=False),
        field="reference_labels",
        dimension_keys=SCHWARTZ10,
    )

    assert list(zip(ids.tolist(), prelabels.tolist(), strict=True)) == expected_prelabels
    assert list(zip(reference_ids.tolist(), references.tolist(), strict=True)) == (
        expected_references
    )


def test_review_counts_equal_the_dashboards_counts(project):
    matrix = label_matrix(project=project, dimension_keys=SCHWARTZ10)
    dashboard_ids, dashboard_counts = counts_by_item(matrix, len(SCHWARTZ10))

    review_ids, review_counts = item_label_counts(project=project, dimension_keys=SCHWARTZ10)

    assert review_ids.tolist() == dashboard_ids.tolist()
    assert review_counts.tolist() == dashboard_counts.tolist()


def test_dashboard_counts_and_workers_match_a_count_by_hand(project):
    rows = counted_rows(project)
    by_label = {key: [0, 0, 0] for key in SCHWARTZ10}
    per_worker: dict[int, list[float]] = {}
    for _, worker, _, seconds, stored in rows:
        for key, value in zip(SCHWARTZ10, plain_vector(stored), strict=True):
            by_label[key][value + 1] += 1
        per_worker.setdefault(worker, []).append(seconds)
    excluded = Annotation.objects.filter(item__project=project, item__kind="task", excluded=True)
    for worker, seconds in excluded.values_list("annotator_id", "seconds"):
        per_worker.setdefault(worker, []).append(seconds)

    figures = project_dashboard(project=project, resamples=20)

    assert figures["distribution"] == by_label
    assert figures["items_annotated"] == len({row[0] for row in rows})
    got = {row["worker"]: (row["annotations"], row["median_seconds"]) for row in figures["workers"]}
    names = dict(
        Annotation.objects.filter(item__project=project).values_list(
            "annotator_id", "annotator__pseudonym"
        )
    )
    assert got == {
        names[worker]: (len(spent), round(float(np.median(spent)), 1))
        for worker, spent in per_worker.items()
    }
    assert sum(1 for row in figures["workers"] if row["excluded"]) == 1


def test_review_queue_on_a_project_with_no_labels_is_empty(db):
    project = ProjectFactory(slug="quiet")
    ItemFactory(project=project)
    cache.clear()

    assert review_queue(project=project) == []
    assert project_dashboard(project=project, resamples=5)["items_annotated"] == 0
