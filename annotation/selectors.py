"""Reads of the annotation app: projects, their counts, and the streamed export."""

import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from itertools import islice

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet

from annotation.aggregation import aggregate
from annotation.models import Annotation, Item, Prelabel, Project, ValueDimension

EXPORT_CHUNK_SIZE = 2000


def projects_with_counts() -> QuerySet[Project]:
    """Return every project with its scheme and ``n_items`` annotated."""
    return Project.objects.select_related("scheme").annotate(n_items=Count("items"))


def project_dimensions(*, project: Project) -> QuerySet[ValueDimension]:
    """Return the dimensions of the project's scheme in scheme order."""
    return project.scheme.dimensions.order_by("position", "pk")


def project_item_counts(*, project: Project) -> dict[str, int]:
    """Return how many items the project has, how many carry reference labels, and are done."""
    complete = (
        Item.objects.filter(project=project)
        .annotate(n=Count("annotations"))
        .filter(n__gte=project.overlap)
    )
    return {
        "items": project.items.count(),
        "with_reference": project.items.filter(reference_labels__isnull=False).count(),
        "gold": project.items.filter(is_gold=True).count(),
        "complete": complete.count(),
        "annotations": Annotation.objects.filter(item__project=project).count(),
    }


def items_for_export(
    *,
    project: Project,
    complete_only: bool = False,
    adjudicated_only: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet:
    """Return the project's items in id order as dicts, with their pre-label's fields.

    ``complete_only`` keeps items with at least ``overlap`` annotations; ``adjudicated_only``
    items a reviewer gave final labels; ``since`` / ``until`` items that received an
    annotation in [since, until) (each record still carries all its annotations, so its
    labels are the item's labels).
    """
    items = Item.objects.filter(project=project).order_by("pk")
    if complete_only:
        items = items.annotate(n_annotations=Count("annotations")).filter(
            n_annotations__gte=project.overlap
        )
    if adjudicated_only:
        items = items.filter(adjudication__isnull=False)
    if since is not None or until is not None:
        in_range = Annotation.objects.filter(item=OuterRef("pk"))
        if since is not None:
            in_range = in_range.filter(created__gte=since)
        if until is not None:
            in_range = in_range.filter(created__lt=until)
        items = items.filter(Exists(in_range))
    return items.values(
        "pk",
        "external_id",
        "prompt",
        "response",
        "source",
        "reference_labels",
        "prelabel__labels",
        "prelabel__model",
        "prelabel__rationale",
        "adjudication__labels",
    )


def annotations_by_item(*, item_ids: list[int]) -> dict[int, list[dict]]:
    """Return the annotations of the given items as dicts, grouped by item, oldest first."""
    grouped: dict[int, list[dict]] = {}
    rows = (
        # The range beside the list lets the planner pick the (item, annotator) index even
        # before the table has statistics (a fresh import, autovacuum behind).
        Annotation.objects.filter(
            item_id__in=item_ids, item_id__gte=min(item_ids), item_id__lte=max(item_ids)
        )
        .order_by("item_id", "created", "pk")
        .values_list(
            "item_id", "annotator__pseudonym", "labels", "saw_prelabel", "seconds", "created"
        )
    )
    for item_id, pseudonym, labels, saw_prelabel, seconds, created in rows:
        grouped.setdefault(item_id, []).append(
            {
                "annotator": pseudonym,
                "labels": labels,
                "saw_prelabel": saw_prelabel,
                "seconds": float(seconds),
                "created": created.isoformat(),
            }
        )
    return grouped


def project_export_lines(
    *,
    project: Project,
    complete_only: bool = False,
    adjudicated_only: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    chunk_size: int = EXPORT_CHUNK_SIZE,
) -> Iterator[str]:
    """Yield the export of the project as JSON lines (contracts.md), each ending in a newline.

    Items are read ``chunk_size`` at a time and the annotations of each chunk fetched in one
    query, so memory stays flat however large the project. Rows are read as plain values, not
    model instances: building instances cost most of the time of an export.
    """
    keys = project.scheme.dimension_keys()
    rows = items_for_export(
        project=project,
        complete_only=complete_only,
        adjudicated_only=adjudicated_only,
        since=since,
        until=until,
    ).iterator(chunk_size=chunk_size)
    while chunk := list(islice(rows, chunk_size)):
        annotations = annotations_by_item(item_ids=[row["pk"] for row in chunk])
        for row in chunk:
            record = export_record(
                row,
                annotations.get(row["pk"], []),
                scheme_key=project.scheme.key,
                dimension_keys=keys,
            )
            yield json.dumps(record, ensure_ascii=False) + "\n"


def export_record(
    item: dict, annotations: list[dict], *, scheme_key: str, dimension_keys: list[str]
) -> dict:
    """Return one item's export record, keys in the order the contracts list them.

    ``labels`` are the reviewer's final labels where the item was adjudicated, else the
    majority; ``label_source`` says which: "adjudicated", "unanimous" (every annotator gave
    the same label on every dimension), "majority", or null with no annotation.
    """
    labels, agreement = aggregate([a["labels"] for a in annotations], dimension_keys)
    final = item.get("adjudication__labels")
    if final is not None:
        labels, label_source = {key: final.get(key, 0) for key in dimension_keys}, "adjudicated"
    elif not annotations:
        label_source = None
    elif all(share == 1.0 for share in agreement.values()):
        label_source = "unanimous"
    else:
        label_source = "majority"
    for annotation in annotations:
        annotation["labels"] = _in_order(annotation["labels"], dimension_keys)
    has_prelabel = item["prelabel__labels"] is not None
    return {
        "id": item["external_id"],
        "prompt": item["prompt"],
        "response": item["response"],
        "source": item["source"] or None,
        "scheme": scheme_key,
        "labels": labels,
        "vector": [labels[key] for key in dimension_keys],
        "n_annotations": len(annotations),
        "agreement": agreement,
        "prelabel": (
            {
                "labels": _in_order(item["prelabel__labels"], dimension_keys),
                "model": item["prelabel__model"],
                "rationale": item["prelabel__rationale"],
            }
            if has_prelabel
            else None
        ),
        "reference": (
            _in_order(item["reference_labels"], dimension_keys)
            if item["reference_labels"]
            else None
        ),
        "annotations": annotations,
        # Added after the contract's keys, so readers of the original shape are unaffected.
        "label_source": label_source,
    }


def _in_order(labels: dict, dimension_keys: list[str]) -> dict:
    # Scheme order in every record keeps the columns a dataset loader infers the same.
    ordered = {key: labels[key] for key in dimension_keys if key in labels}
    if len(ordered) < len(labels):
        ordered.update((key, value) for key, value in labels.items() if key not in ordered)
    return ordered


# --- Dashboard: agreement, pre-labels, workers, anchoring, the item map ----------------------

DASHBOARD_CACHE_SECONDS = 30
MAP_MAX_POINTS = 3000
MAP_MAX_SOURCES = 8


def counted_annotations(*, project: Project) -> QuerySet[Annotation]:
    """Return the annotations that count: not excluded, on items to label (gold included)."""
    return Annotation.objects.filter(item__project=project, item__kind="task", excluded=False)


def item_label_counts(*, project: Project, dimension_keys: list[str]):
    """Return (item ids, counts[item, dimension, label]) over the counted annotations.

    The database counts each label per item and dimension (one grouped query), so a project of
    100k items sends 100k short rows, not 300k label documents.
    """
    import numpy as np

    from annotation.agreement import LABELS

    aggregates = {
        f"c{d}_{i}": Count("pk", filter=Q(**{f"labels__{key}": label}))
        for d, key in enumerate(dimension_keys)
        for i, label in enumerate(LABELS)
    }
    rows = list(
        counted_annotations(project=project)
        .order_by()
        .values("item_id")
        .annotate(**aggregates)
        .values_list("item_id", *aggregates)
        .order_by("item_id")
    )
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, len(dimension_keys), len(LABELS)))
    table = np.array(rows, dtype=np.int64)
    counts = table[:, 1:].reshape(len(rows), len(dimension_keys), len(LABELS)).astype(float)
    return table[:, 0], counts


def label_distribution(*, project: Project, dimension_keys: list[str]) -> dict[str, list[int]]:
    """Return, per dimension, how many counted annotations gave -1, 0 and +1 (one query)."""
    from annotation.agreement import LABELS

    aggregates = {
        f"c{d}_{i}": Count("pk", filter=Q(**{f"labels__{key}": label}))
        for d, key in enumerate(dimension_keys)
        for i, label in enumerate(LABELS)
    }
    totals = counted_annotations(project=project).aggregate(**aggregates)
    return {
        key: [totals[f"c{d}_{i}"] for i in range(len(LABELS))]
        for d, key in enumerate(dimension_keys)
    }


def prelabel_acceptance(*, project: Project, dimension_keys: list[str]) -> dict:
    """Return how often annotators shown a pre-label kept it, per dimension and whole.

    ``{"annotations": n, "kept_all": share, "dimensions": {key: share}}``; from
    ``Annotation.prelabel_kept`` (recorded at submit), else by comparing the labels.
    """
    shown = counted_annotations(project=project).filter(
        saw_prelabel=True, item__prelabel__isnull=False
    )
    kept = dict.fromkeys(dimension_keys, 0)
    kept_all = n = 0
    for labels, recorded, prelabel in shown.values_list(
        "labels", "prelabel_kept", "item__prelabel__labels"
    ).iterator(chunk_size=5000):
        n += 1
        if recorded is None:
            recorded = {key: labels.get(key) == prelabel.get(key) for key in dimension_keys}
        every = True
        for key in dimension_keys:
            if recorded.get(key):
                kept[key] += 1
            else:
                every = False
        kept_all += every
    return {
        "annotations": n,
        "kept_all": round(kept_all / n, 4) if n else None,
        "dimensions": {key: (round(kept[key] / n, 4) if n else None) for key in dimension_keys},
    }


def worker_summaries(*, project: Project) -> list[dict]:
    """Return one row per worker: pseudonym, annotations, median seconds, gold accuracy.

    Excluded workers are listed (marked) so a researcher sees whom they excluded.
    """
    from statistics import median

    from annotation.quality import gold_accuracy_by_worker

    seconds: dict[int, list[float]] = {}
    names: dict[int, str] = {}
    excluded: set[int] = set()
    rows = Annotation.objects.filter(item__project=project, item__kind="task").values_list(
        "annotator_id", "annotator__pseudonym", "seconds", "excluded"
    )
    for worker_id, pseudonym, spent, was_excluded in rows.iterator(chunk_size=10000):
        names[worker_id] = pseudonym
        seconds.setdefault(worker_id, []).append(spent)
        if was_excluded:
            excluded.add(worker_id)
    gold = gold_accuracy_by_worker(project=project)
    summaries = [
        {
            "worker": names[worker_id],
            "annotations": len(spent),
            "median_seconds": round(median(spent), 1),
            "gold_items": gold[worker_id]["n_gold"] if worker_id in gold else 0,
            "gold_accuracy": (round(gold[worker_id]["accuracy"], 4) if worker_id in gold else None),
            "excluded": worker_id in excluded,
        }
        for worker_id, spent in seconds.items()
    ]
    return sorted(summaries, key=lambda row: (-row["annotations"], row["worker"]))


def anchoring(*, project: Project, dimension_keys: list[str]) -> dict:
    """Return labels with and without the pre-label shown (the blind subset), side by side.

    Over counted annotations of items that have a pre-label: per group (``shown``, ``blind``)
    the number of annotations, their agreement with the gold labels (items with reference
    labels: share of dimensions equal), how often they equal the pre-label, and the share of
    -1 / 0 / +1. A pre-label that anchors people shows as a higher match with it when shown.
    """
    from annotation.agreement import distribution

    groups = {
        name: {"annotations": 0, "gold": [0, 0], "prelabel": [0, 0], "labels": [0, 0, 0]}
        for name in ("shown", "blind")
    }
    rows = (
        counted_annotations(project=project)
        .filter(item__prelabel__isnull=False)
        .values_list("saw_prelabel", "labels", "item__reference_labels", "item__prelabel__labels")
    )
    for saw, labels, reference, prelabel in rows.iterator(chunk_size=5000):
        group = groups["shown" if saw else "blind"]
        group["annotations"] += 1
        for key in dimension_keys:
            label = labels.get(key, 0)
            group["labels"][label + 1] += 1
            group["prelabel"][0] += label == prelabel.get(key, 0)
            group["prelabel"][1] += 1
            if reference:
                group["gold"][0] += label == reference.get(key, 0)
                group["gold"][1] += 1
    return {
        name: {
            "annotations": group["annotations"],
            "gold_agreement": (
                round(group["gold"][0] / group["gold"][1], 4) if group["gold"][1] else None
            ),
            "gold_labels": group["gold"][1],
            "prelabel_match": (
                round(group["prelabel"][0] / group["prelabel"][1], 4)
                if group["prelabel"][1]
                else None
            ),
            "distribution": distribution(group["labels"]),
        }
        for name, group in groups.items()
    }


def llm_vs_humans(
    *, project: Project, dimension_keys: list[str], item_ids, counts
) -> dict[str, dict]:
    """Return, per dimension, how the pre-label agrees with the human majority (share, AC1/2)."""
    from annotation.agreement import LABELS, majority_labels, pair_agreement

    prelabels = dict(
        Prelabel.objects.filter(item__project=project, labeller="llm").values_list(
            "item_id", "labels"
        )
    )
    majority = majority_labels(counts) if len(item_ids) else None
    result = {}
    for d, key in enumerate(dimension_keys):
        model, humans = [], []
        for row, item_id in enumerate(item_ids):
            prelabel = prelabels.get(int(item_id))
            if prelabel is not None and counts[row, d].sum() > 0:
                model.append(int(prelabel.get(key, 0)))
                humans.append(LABELS[majority[row, d]])
        result[key] = pair_agreement(model, humans)
    return result


def item_map(*, project: Project, item_ids, counts, seed: int = 7) -> dict:
    """Return the items as points in 2-D value space (PCA of mean label vectors) by source.

    Annotated items are placed by their annotators' mean label per dimension; with no
    annotations yet, by their pre-labels. At most ``MAP_MAX_POINTS`` points are sent (a
    seeded sample); the PCA uses every item.
    """
    import numpy as np

    from annotation.agreement import pca_2d

    basis = "annotations"
    if len(item_ids):
        raters = np.maximum(counts.sum(axis=-1), 1)
        vectors = (counts[..., 2] - counts[..., 0]) / raters
    else:
        basis = "prelabels"
        keys = project.scheme.dimension_keys()
        rows = list(Prelabel.objects.filter(item__project=project).values_list("item_id", "labels"))
        item_ids = np.array([item_id for item_id, _ in rows], dtype=np.int64)
        vectors = np.array(
            [[labels.get(key, 0) for key in keys] for _, labels in rows], dtype=float
        ).reshape(len(rows), len(keys))
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
    """Return every figure of the project's dashboard (the heavy ones; see the cached one)."""
    import numpy as np

    from annotation.agreement import DEFAULT_RESAMPLES, agreement_by_dimension

    keys = project.scheme.dimension_keys()
    item_ids, counts = item_label_counts(project=project, dimension_keys=keys)
    return {
        "dimensions": keys,
        "items_annotated": int(len(item_ids)),
        "agreement": agreement_by_dimension(
            counts.reshape(len(item_ids), len(keys), 3)
            if len(item_ids)
            else np.zeros((0, len(keys), 3)),
            keys,
            resamples=DEFAULT_RESAMPLES if resamples is None else resamples,
        ),
        "llm_vs_humans": llm_vs_humans(
            project=project, dimension_keys=keys, item_ids=item_ids, counts=counts
        ),
        "acceptance": prelabel_acceptance(project=project, dimension_keys=keys),
        "distribution": label_distribution(project=project, dimension_keys=keys),
        "workers": worker_summaries(project=project),
        "anchoring": anchoring(project=project, dimension_keys=keys),
        "map": item_map(project=project, item_ids=item_ids, counts=counts),
    }


def dashboard_version(*, project: Project) -> tuple:
    """Return what changes when the dashboard's figures would: annotations and pre-labels."""
    annotations = Annotation.objects.filter(item__project=project).aggregate(
        n=Count("pk"), last=Max("pk"), excluded=Count("pk", filter=Q(excluded=True))
    )
    prelabels = Prelabel.objects.filter(item__project=project).count()
    return (annotations["n"], annotations["last"], annotations["excluded"], prelabels)


def project_dashboard_cached(*, project: Project) -> dict:
    """Return the dashboard's figures, recomputed at most every ``DASHBOARD_CACHE_SECONDS``.

    Figures for an unchanged project are reused; a project taking labels gets fresh figures
    at most every half minute, so polling pages never recompute on every poll. The result
    carries ``computed`` (a Unix time) so the page can say how fresh it is.
    """
    import time

    from django.core.cache import cache

    key = f"annotation:dashboard:{project.pk}"
    version = dashboard_version(project=project)
    cached = cache.get(key)
    now = time.time()
    if cached and (
        cached["version"] == version or now - cached["computed"] < DASHBOARD_CACHE_SECONDS
    ):
        return cached
    figures = {**project_dashboard(project=project), "version": version, "computed": now}
    cache.set(key, figures, timeout=24 * 3600)
    return figures


# --- Export filters ---------------------------------------------------------------------------

TRUE_WORDS = ("1", "true", "yes", "on")


def export_filters(params) -> dict:
    """Return the export options in ``params`` (a query dict or a command's options).

    ``complete_only`` and ``adjudicated_only`` are flags; ``since`` and ``until`` are ISO dates
    or date-times (UTC when no zone is given; ``until`` is exclusive, so ``until=2026-11-25``
    keeps annotations made on the 24th). Raise ``ValidationError`` naming the bad field.
    """
    from datetime import UTC, time

    from django.core.exceptions import ValidationError
    from django.utils.dateparse import parse_date, parse_datetime

    def flag(name: str) -> bool:
        value = params.get(name)
        return value is True or str(value or "").strip().lower() in TRUE_WORDS

    def moment(name: str):
        text = str(params.get(name) or "").strip()
        if not text:
            return None
        try:
            parsed = parse_datetime(text)
            if parsed is None:
                day = parse_date(text)
                parsed = datetime.combine(day, time.min) if day else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError({name: f"{text!r} is not a date (YYYY-MM-DD) or ISO date-time"})
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    options = {
        "complete_only": flag("complete_only"),
        "adjudicated_only": flag("adjudicated_only"),
        "since": moment("since"),
        "until": moment("until"),
    }
    if options["since"] and options["until"] and options["since"] >= options["until"]:
        raise ValidationError({"until": "must be after since"})
    return options
