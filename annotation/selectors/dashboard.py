"""The researcher dashboard's figures: agreement, pre-labels, workers, anchoring, the item map.

Computed with numpy on the label columns of ``label_columns`` and cached while labels arrive.
"""

import time
from collections import Counter

import numpy as np
from django.core.cache import cache
from django.db.models import Count, Max, Q

from annotation.agreement import (
    DEFAULT_RESAMPLES,
    LABELS,
    agreement_by_dimension,
    distribution,
    majority_labels,
    pair_agreement,
    pca_2d,
)
from annotation.models import Annotation, Item, Prelabel, Project
from annotation.quality import gold_accuracy_by_worker
from annotation.selectors.label_columns import (
    counts_by_item,
    item_labels_by_id,
    label_matrix,
    read_columns,
)
from core.models import User

# While labels arrive, figures are recomputed once they are older than ten times what computing
# them took, between these bounds: a small project is live within seconds, 100k items stay cheap.
DASHBOARD_REFRESH_MIN_SECONDS = 3
DASHBOARD_REFRESH_MAX_SECONDS = 60
MAP_MAX_POINTS = 3000
MAP_MAX_SOURCES = 8


def _aligned(ids, labels, wanted):
    """Return (found mask, labels of ``wanted`` ids) from sorted ``ids`` and their labels."""
    if not len(ids):
        return np.zeros(len(wanted), dtype=bool), np.zeros((len(wanted), labels.shape[1]), int)
    position = np.clip(np.searchsorted(ids, wanted), 0, len(ids) - 1)
    found = ids[position] == wanted
    return found, labels[position]


def _share(hits, total) -> float | None:
    return round(float(hits) / float(total), 4) if total else None


def prelabel_figures(matrix: dict, prelabels: tuple, dimension_keys: list[str]) -> dict:
    """Return how often annotators shown a pre-label kept it, per dimension and whole."""
    found, prelabel = _aligned(*prelabels, matrix["item"])
    shown = found & matrix["saw_prelabel"]
    kept = matrix["labels"][shown] == prelabel[shown]
    return {
        "annotations": int(shown.sum()),
        "kept_all": _share(kept.all(axis=1).sum(), len(kept)),
        "dimensions": {
            key: _share(kept[:, d].sum(), len(kept)) for d, key in enumerate(dimension_keys)
        },
    }


def anchoring_figures(matrix: dict, prelabels: tuple, references: tuple) -> dict:
    """Return labels with and without the pre-label shown (the blind subset), side by side.

    Over counted annotations of items that have a pre-label: per group (``shown``, ``blind``)
    the number of annotations, their agreement with the gold labels (items with reference
    labels: share of dimensions equal), how often they equal the pre-label, and the share of
    -1 / 0 / +1. A pre-label that anchors people shows as a higher match with it when shown.
    """
    has_prelabel, prelabel = _aligned(*prelabels, matrix["item"])
    has_reference, reference = _aligned(*references, matrix["item"])
    labels = matrix["labels"]
    result = {}
    for name, rows in (
        ("shown", has_prelabel & matrix["saw_prelabel"]),
        ("blind", has_prelabel & ~matrix["saw_prelabel"]),
    ):
        gold_rows = rows & has_reference
        given = labels[rows]
        result[name] = {
            "annotations": int(rows.sum()),
            "gold_agreement": _share(
                (labels[gold_rows] == reference[gold_rows]).sum(),
                given[:0].size + labels[gold_rows].size,
            ),
            "gold_labels": int(labels[gold_rows].size),
            "prelabel_match": _share((given == prelabel[rows]).sum(), given.size),
            "distribution": distribution([int((given == value).sum()) for value in (-1, 0, 1)]),
        }
    return result


def worker_summaries(*, project: Project, matrix: dict) -> list[dict]:
    """Return one row per worker: pseudonym, annotations, median seconds, gold accuracy.

    Counted annotations only; an excluded worker is listed (marked, with what they did) so a
    researcher sees whom they excluded.
    """
    excluded_rows = read_columns(
        Annotation.objects.filter(item__project=project, item__kind="task", excluded=True)
        .order_by()
        .values_list("annotator_id", "seconds")
    ) or (np.zeros(0, dtype=np.int64), np.zeros(0))
    workers = np.concatenate([matrix["annotator"], excluded_rows[0]]).astype(np.int64)
    seconds = np.concatenate([matrix["seconds"], excluded_rows[1].astype(float)])
    excluded = set(excluded_rows[0].tolist())
    if not len(workers):
        return []
    order = np.lexsort((seconds, workers))
    workers, seconds = workers[order], seconds[order]
    ids, starts, sizes = np.unique(workers, return_index=True, return_counts=True)
    names = dict(User.objects.filter(pk__in=ids.tolist()).values_list("pk", "pseudonym"))
    gold = gold_accuracy_by_worker(project=project)
    summaries = []
    for worker_id, start, size in zip(ids.tolist(), starts, sizes, strict=True):
        spent = seconds[start : start + size]
        accuracy = gold.get(worker_id)
        summaries.append(
            {
                "worker": names.get(worker_id, "?"),
                "annotations": int(size),
                "median_seconds": round(float(np.median(spent)), 1),
                "gold_items": accuracy["n_gold"] if accuracy else 0,
                "gold_accuracy": round(accuracy["accuracy"], 4) if accuracy else None,
                "gold_accuracy_ci": accuracy["accuracy_ci"] if accuracy else None,
                "excluded": worker_id in excluded,
            }
        )
    return sorted(summaries, key=lambda row: (-row["annotations"], row["worker"]))


def llm_vs_humans(item_ids, counts, prelabels: tuple, dimension_keys: list[str]) -> dict:
    """Return, per dimension, how the pre-label agrees with the human majority (share, AC1/2)."""
    found, prelabel = _aligned(*prelabels, item_ids)
    majority = majority_labels(counts)
    labelled = counts.sum(axis=-1) > 0
    result = {}
    for d, key in enumerate(dimension_keys):
        rows = found & labelled[:, d]
        result[key] = pair_agreement(prelabel[rows, d], np.asarray(LABELS)[majority[rows, d]])
    return result


def item_map(*, project: Project, item_ids, counts, prelabels: tuple, seed: int = 7) -> dict:
    """Return the items as points in 2-D value space (PCA of mean label vectors) by source.

    Annotated items are placed by their annotators' mean label per dimension; with no
    annotations yet, by their pre-labels. At most ``MAP_MAX_POINTS`` points are sent (a
    seeded sample); the PCA uses every item.
    """
    basis = "annotations"
    if len(item_ids):
        raters = np.maximum(counts.sum(axis=-1), 1)
        vectors = (counts[..., 2] - counts[..., 0]) / raters
    else:
        basis = "prelabels"
        item_ids, vectors = prelabels[0], prelabels[1].astype(float)
    if len(item_ids) == 0:
        return {"basis": basis, "explained": [0.0, 0.0], "datasets": [], "points": 0}
    coordinates, explained = pca_2d(vectors)
    shown = np.arange(len(item_ids))
    if len(shown) > MAP_MAX_POINTS:
        shown = np.sort(np.random.default_rng(seed).choice(shown, MAP_MAX_POINTS, replace=False))
    sources = dict(
        Item.objects.filter(pk__in=[int(item_ids[i]) for i in shown]).values_list("pk", "source")
    )
    ranked = Counter(sources.values()).most_common()
    named = {source for source, _ in ranked[:MAP_MAX_SOURCES]}
    datasets: dict[str, list] = {}
    for i in shown:
        source = sources.get(int(item_ids[i]), "")
        name = (source or "unknown") if source in named else "other"
        datasets.setdefault(name, []).append(
            {"x": round(float(coordinates[i, 0]), 3), "y": round(float(coordinates[i, 1]), 3)}
        )
    return {
        "basis": basis,
        "explained": [round(float(share), 3) for share in explained],
        "datasets": [{"label": name, "data": points} for name, points in datasets.items()],
        "points": int(len(shown)),
    }


def project_dashboard(*, project: Project, resamples: int | None = None) -> dict:
    """Return every figure of the project's dashboard (see ``project_dashboard_cached``).

    Three reads: the counted annotations (labels as integer columns), the pre-labels and the
    reference labels; everything else is numpy on those arrays.
    """
    keys = project.scheme.dimension_keys()
    matrix = label_matrix(project=project, dimension_keys=keys)
    item_ids, counts = counts_by_item(matrix, len(keys))
    prelabels = item_labels_by_id(
        items=Item.objects.filter(project=project, prelabel__labeller="llm"),
        field="prelabel__labels",
        dimension_keys=keys,
    )
    references = item_labels_by_id(
        items=Item.objects.filter(project=project, reference_labels__isnull=False),
        field="reference_labels",
        dimension_keys=keys,
    )
    totals = counts.sum(axis=0).astype(int) if len(item_ids) else None
    return {
        "dimensions": keys,
        "items_annotated": int(len(item_ids)),
        "items_complete": int((counts.sum(axis=-1).max(axis=-1) >= project.overlap).sum())
        if len(item_ids)
        else 0,
        "agreement": agreement_by_dimension(
            counts if len(item_ids) else counts.reshape(0, len(keys), 3),
            keys,
            resamples=DEFAULT_RESAMPLES if resamples is None else resamples,
        ),
        "llm_vs_humans": llm_vs_humans(item_ids, counts, prelabels, keys),
        "acceptance": prelabel_figures(matrix, prelabels, keys),
        "distribution": {
            key: (totals[d].tolist() if totals is not None else [0, 0, 0])
            for d, key in enumerate(keys)
        },
        "workers": worker_summaries(project=project, matrix=matrix),
        "anchoring": anchoring_figures(matrix, prelabels, references),
        "map": item_map(project=project, item_ids=item_ids, counts=counts, prelabels=prelabels),
    }


def dashboard_version(*, project: Project) -> tuple:
    """Return what changes when the dashboard's figures would: annotations and pre-labels."""
    annotations = Annotation.objects.filter(item__project=project).aggregate(
        n=Count("pk"), last=Max("pk"), excluded=Count("pk", filter=Q(excluded=True))
    )
    prelabels = Prelabel.objects.filter(item__project=project).count()
    return (annotations["n"], annotations["last"], annotations["excluded"], prelabels)


def project_dashboard_cached(*, project: Project) -> dict:
    """Return the dashboard's figures, recomputed only when labels changed and they are stale.

    Figures for an unchanged project are reused. A project taking labels gets fresh figures
    once the cached ones are older than ten times what they took to compute (3 s to 60 s), so
    polling pages never recompute on every poll. The result carries ``computed`` (a Unix time)
    and ``refresh_seconds`` so the page can say how fresh it is.
    """
    key = f"annotation:dashboard:{project.pk}"
    version = dashboard_version(project=project)
    cached = cache.get(key)
    now = time.time()
    if cached and (
        cached["version"] == version or now - cached["computed"] < cached["refresh_seconds"]
    ):
        return {**cached, "annotations_now": version[0]}
    started = time.perf_counter()
    figures = project_dashboard(project=project)
    took = time.perf_counter() - started
    refresh = min(DASHBOARD_REFRESH_MAX_SECONDS, max(DASHBOARD_REFRESH_MIN_SECONDS, 10 * took))
    figures.update(version=version, computed=now, refresh_seconds=round(refresh, 1))
    cache.set(key, figures, timeout=24 * 3600)
    return {**figures, "annotations_now": version[0]}
