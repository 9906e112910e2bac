"""Reads of the annotation app: projects, their counts, and the streamed export."""

import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from math import isfinite

import numpy as np
from django.conf import settings
from django.db import connections
from django.db.models import Count, Exists, IntegerField, Max, OuterRef, Q, QuerySet, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from annotation.aggregation import aggregate
from annotation.models import Annotation, Item, Prelabel, Project
from core.models import User, ValueDimension

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
    labelled_only: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet:
    """Return the project's items in id order as tuples of ``EXPORT_ITEM_FIELDS``.

    ``complete_only`` keeps items with at least ``overlap`` annotations; ``labelled_only`` items
    with at least one (or a reviewer's labels); ``adjudicated_only`` items a reviewer gave final
    labels; ``since`` / ``until`` items that received an
    annotation in [since, until) (each record still carries all its annotations, so its
    labels are the item's labels).
    """
    # Training items and attention checks are scaffolding for workers, not data.
    items = Item.objects.filter(project=project, kind="task").order_by("pk")
    if complete_only:
        counted = Count("annotations", filter=Q(annotations__excluded=False))
        items = items.annotate(n_annotations=counted).filter(n_annotations__gte=project.overlap)
    if adjudicated_only:
        items = items.filter(adjudication__isnull=False)
    if labelled_only:
        counted = Annotation.objects.filter(item=OuterRef("pk"), excluded=False)
        items = items.filter(Q(Exists(counted)) | Q(adjudication__isnull=False))
    if since is not None or until is not None:
        in_range = Annotation.objects.filter(item=OuterRef("pk"))
        if since is not None:
            in_range = in_range.filter(created__gte=since)
        if until is not None:
            in_range = in_range.filter(created__lt=until)
        items = items.filter(Exists(in_range))
    return items.values_list(*EXPORT_ITEM_FIELDS)


EXPORT_ITEM_FIELDS = (
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


def annotations_for_export(*, item_ids: list[int]) -> QuerySet:
    """Return the counted annotations of items from ``item_ids`` (an ascending list), oldest
    first within each item, as tuples (item id, annotator's pseudonym, labels, saw_prelabel,
    seconds, created as the database's text, page_version).

    Where the ids are dense (nine in ten of the ids between the first and the last, as in an
    export with no filter) the range alone selects them, so the annotations of the few other
    items between them come along too: a list of thousands of ids costs more to send than
    those rows.
    """
    first, last = item_ids[0], item_ids[-1]
    # The range lets the planner pick the (item, annotator) index even before the table has
    # statistics (a fresh import, autovacuum behind).
    annotations = Annotation.objects.filter(item_id__gte=first, item_id__lte=last)
    if last - first + 1 > len(item_ids) * 10 / 9:
        annotations = annotations.filter(item_id__in=item_ids)
    return (
        annotations.filter(excluded=False)  # a worker the researcher excluded no longer counts
        .order_by("item_id", "created", "pk")
        .values_list(
            "item_id",
            "annotator__pseudonym",
            "labels",
            "saw_prelabel",
            "seconds",
            # Text, parsed with datetime.fromisoformat: the drivers' own datetime loading
            # (Django's time zone loader on PostgreSQL, its converter on SQLite) is slower.
            Cast("created", output_field=TextField()),
            "page_version",
        )
    )


def annotations_by_item(*, item_ids: list[int]) -> dict[int, list[tuple]]:
    """Return the rows of ``annotations_for_export`` of each of the items (ascending ids).

    JSON columns stay the database's text: see ``_raw_rows``.
    """
    grouped: dict[int, list[tuple]] = {item_id: [] for item_id in item_ids}
    queryset = annotations_for_export(item_ids=item_ids)
    with connections[queryset.db].cursor() as cursor:
        for row in _raw_rows(queryset, cursor).fetchall():
            annotations = grouped.get(row[0])
            if annotations is not None:
                annotations.append(row)
    return grouped


def _raw_rows(queryset: QuerySet, cursor):
    """Run the queryset's SQL on ``cursor`` and return the cursor."""
    # Django's per-row converters (json.loads of every label dict, datetime parsing, each row
    # rebuilt) cost most of an export's time; the writer decodes what it needs, once.
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    cursor.execute(sql, params)
    return cursor


def project_export_lines(
    *,
    project: Project,
    complete_only: bool = False,
    adjudicated_only: bool = False,
    labelled_only: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    chunk_size: int = EXPORT_CHUNK_SIZE,
) -> Iterator[str]:
    """Yield the export of the project as JSON lines (contracts.md), each ending in a newline.

    Items are read ``chunk_size`` at a time (a server-side cursor on PostgreSQL) and the
    annotations of each chunk fetched in one query, so memory stays flat however large the
    project. Rows are read as the database's values and written straight to JSON text:
    building model instances, then dicts, then encoding them cost most of the export's time.
    """
    items = items_for_export(
        project=project,
        complete_only=complete_only,
        adjudicated_only=adjudicated_only,
        labelled_only=labelled_only,
        since=since,
        until=until,
    )
    connection = connections[items.db]
    writer = _ExportLineWriter(
        scheme_key=project.scheme.key,
        dimension_keys=project.scheme.dimension_keys(),
        timezone=connection.timezone if settings.USE_TZ else None,
    )
    # As QuerySet.iterator() does: behind a transaction-pooling pgbouncer a server-side
    # cursor would not outlive its transaction.
    server_side = not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
    with connection.chunked_cursor() if server_side else connection.cursor() as cursor:
        rows = _raw_rows(items, cursor)
        while chunk := rows.fetchmany(chunk_size):
            annotations = annotations_by_item(item_ids=[row[0] for row in chunk])
            for row in chunk:
                yield writer.line(row, annotations[row[0]])


_ABSENT = object()  # a dimension an annotator left out of their labels


class _ExportLineWriter:
    """Write export records (contracts.md) as JSON text, one line per item.

    The text is exactly ``json.dumps(record, ensure_ascii=False)`` of the record described in
    ``line``, but built from pieces: a label dict is decoded, put in scheme order and encoded
    once per distinct stored text, and each dimension's majority once per distinct column of
    labels, since both repeat across hundreds of thousands of items.
    """

    # Bounds on the caches (emptied when full): 3**10 label dicts cover a ten-value scheme.
    MAX_LABEL_TEXTS = 65_536
    MAX_COLUMNS = 4096

    def __init__(self, *, scheme_key: str, dimension_keys: list[str], timezone=None):
        self.dimension_keys = list(dimension_keys)
        self.timezone = timezone
        # A fixed zone (UTC, Django's default for SQLite) has one offset for every date.
        fixed = timezone is not None and timezone.utcoffset(None) is not None
        self.fixed_offset_text = (
            datetime(2000, 1, 1, tzinfo=timezone).isoformat()[19:] if fixed else None
        )
        self.encode = json.JSONEncoder(ensure_ascii=False).encode
        self.scheme_text = self.encode(scheme_key)
        self.key_texts = [self.encode(key) for key in self.dimension_keys]
        self.label_texts: dict = {}
        self.columns: list[dict] = [{} for _ in self.dimension_keys]
        self.pseudonym_texts: dict = {}
        self.key_range = range(len(self.dimension_keys))
        self.unlabelled = self._aggregate_texts([self._column(i, ()) for i in self.key_range])

    def line(self, item: tuple, annotations) -> str:
        """Return one item's export line, ending in a newline.

        ``item`` is a row of ``items_for_export``, ``annotations`` its rows of
        ``annotations_for_export``. ``labels`` are the reviewer's final labels where the item
        was adjudicated, else the majority (ties → 0); ``label_source`` says which:
        "adjudicated", "unanimous" (every annotator gave the same label on every dimension),
        "majority", or null with no annotation.
        """
        external_id, prompt, response, source = item[1:5]
        reference, prelabel, model, rationale, adjudicated = item[5:]
        encode = self.encode
        parsed = [self._labels(annotation[2]) for annotation in annotations]
        if parsed:
            columns = list(zip(*[values for values, _, _ in parsed], strict=True))
            try:
                results = [
                    column_results.get(column) or self._column(i, column)
                    for i, column_results, column in zip(
                        self.key_range, self.columns, columns, strict=True
                    )
                ]
            except TypeError:  # a label that is no JSON scalar cannot key the cache
                results = [self._column(i, column, cache=False) for i, column in enumerate(columns)]
            labels, vector, agreement, unanimous = self._aggregate_texts(results)
            label_source = '"unanimous"' if unanimous else '"majority"'
        else:
            # Nobody labelled it: null, never "unrelated on every value" (contracts.md).
            _, _, agreement, _ = self.unlabelled
            labels = vector = label_source = "null"
        final = json.loads(adjudicated) if adjudicated is not None else None
        if final is not None:
            final_labels = {key: final.get(key, 0) for key in self.dimension_keys}
            labels = encode(final_labels)
            vector = encode(list(final_labels.values()))
            label_source = '"adjudicated"'
        prelabel_labels = self._labels(prelabel) if prelabel is not None else None
        if prelabel_labels is not None:
            prelabel = (
                f'{{"labels": {prelabel_labels[1]}, "model": {encode(model)}, '
                f'"rationale": {encode(rationale)}}}'
            )
        else:
            prelabel = "null"
        reference_labels = self._labels(reference) if reference is not None else None
        reference = reference_labels[1] if reference_labels and reference_labels[2] else "null"
        annotation_texts = ", ".join(
            [
                self._annotation(annotation, labels_text)
                for annotation, (_, labels_text, _) in zip(annotations, parsed, strict=True)
            ]
        )
        return (
            f'{{"id": {encode(external_id)}, "prompt": {encode(prompt)}, '
            f'"response": {encode(response)}, "source": {encode(source or None)}, '
            f'"scheme": {self.scheme_text}, "labels": {labels}, "vector": {vector}, '
            f'"n_annotations": {len(parsed)}, "agreement": {agreement}, '
            f'"prelabel": {prelabel}, "reference": {reference}, '
            f'"annotations": [{annotation_texts}], "label_source": {label_source}}}\n'
        )

    def _annotation(self, annotation, labels_text: str) -> str:
        _, pseudonym, _, saw_prelabel, seconds, created, page_version = annotation
        pseudonym_text = self.pseudonym_texts.get(pseudonym)
        if pseudonym_text is None:
            pseudonym_text = self.pseudonym_texts[pseudonym] = self.encode(pseudonym)
        seconds = float(seconds)
        created = datetime.fromisoformat(created)
        if created.tzinfo is not None or self.timezone is None:
            created_text = created.isoformat()
        elif self.fixed_offset_text is not None:
            created_text = created.isoformat() + self.fixed_offset_text
        else:
            # What Django's converter does: naive values are in the connection's zone.
            created_text = created.replace(tzinfo=self.timezone).isoformat()
        return (
            f'{{"annotator": {pseudonym_text}, "labels": {labels_text}, '
            f'"saw_prelabel": {"true" if saw_prelabel else "false"}, '
            f'"seconds": {repr(seconds) if isfinite(seconds) else self.encode(seconds)}, '
            f'"created": "{created_text}", "page_version": {self.encode(page_version or "")}}}'
        )

    def _labels(self, text) -> tuple | None:
        """Return (values in scheme order, JSON text in scheme order, non-empty) of a stored
        label dict, or None for JSON null."""
        known = self.label_texts.get(text)
        if known is not None:
            return known
        labels = json.loads(text) if isinstance(text, (str, bytes)) else text
        if labels is None:
            return None
        values = tuple(labels.get(key, _ABSENT) for key in self.dimension_keys)
        known = (values, self.encode(_in_order(labels, self.dimension_keys)), bool(labels))
        if len(self.label_texts) >= self.MAX_LABEL_TEXTS:
            self.label_texts.clear()
        if isinstance(text, str):
            self.label_texts[text] = known
        return known

    def _column(self, index: int, column: tuple, cache: bool = True) -> tuple:
        """Return (label, agreement, label text, agreement text) of one dimension of an item
        from the labels its annotators gave (as ``aggregate`` computes them)."""
        labels, agreement = aggregate(
            [{"label": value} for value in column if value is not _ABSENT], ["label"]
        )
        label, share = labels["label"], agreement["label"]
        key = self.key_texts[index]
        result = (label, share, f"{key}: {self.encode(label)}", f"{key}: {self.encode(share)}")
        if cache:
            column_results = self.columns[index]
            if len(column_results) >= self.MAX_COLUMNS:
                column_results.clear()
            column_results[column] = result
        return result

    @staticmethod
    def _aggregate_texts(results: list[tuple]) -> tuple[str, str, str, bool]:
        """Return the labels, vector and agreement texts of one item, and whether every
        annotator agreed on every dimension."""
        labels = "{" + ", ".join([result[2] for result in results]) + "}"
        vector = "[" + ", ".join([str(result[0]) for result in results]) + "]"
        agreement = "{" + ", ".join([result[3] for result in results]) + "}"
        return labels, vector, agreement, all(result[1] == 1.0 for result in results)


def _in_order(labels: dict, dimension_keys: list[str]) -> dict:
    # Scheme order in every record keeps the columns a dataset loader infers the same.
    ordered = {key: labels[key] for key in dimension_keys if key in labels}
    if len(ordered) < len(labels):
        ordered.update((key, value) for key, value in labels.items() if key not in ordered)
    return ordered


# --- Dashboard: agreement, pre-labels, workers, anchoring, the item map ----------------------

# While labels arrive, figures are recomputed once they are older than ten times what computing
# them took, between these bounds: a small project is live within seconds, 100k items stay cheap.
DASHBOARD_REFRESH_MIN_SECONDS = 3
DASHBOARD_REFRESH_MAX_SECONDS = 60
MAP_MAX_POINTS = 3000
MAP_MAX_SOURCES = 8


def counted_annotations(*, project: Project) -> QuerySet[Annotation]:
    """Return the annotations that count: not excluded, on items to label (gold included)."""
    return Annotation.objects.filter(item__project=project, item__kind="task", excluded=False)


# Rows read at a time from the raw cursor: columns become arrays chunk by chunk.
DASHBOARD_CHUNK_SIZE = 20_000


def _label_number(value) -> int:
    # What the database's cast of the JSON value to an integer gives (SQLite's CAST, which
    # PostgreSQL agrees with wherever it does not refuse): a missing label (NULL) counts as 0.
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if isfinite(value) else 0
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return 0
    return 0


class _LabelVectors:
    """Turn stored label dicts (the database's JSON text) into integer vectors.

    Label dicts repeat a lot (a ten-dimension scheme has at most 3**10 of them, a project far
    fewer), so each distinct text is decoded once and every row becomes a small integer code
    into a table of vectors.
    """

    def __init__(self, dimension_keys: list[str]):
        self.dimension_keys = list(dimension_keys)
        self.codes: dict = {}
        # Codes start at 1 so that a found code is true: one dict lookup per row.
        self.vectors: list[list[int]] = [[0] * len(self.dimension_keys)]

    def encode(self, texts) -> np.ndarray:
        """Return the code of each of ``texts`` (int64), decoding the texts not seen before."""
        get, add = self.codes.get, self._add
        try:
            return np.array([get(text) or add(text) for text in texts], dtype=np.int64)
        except TypeError:  # a driver that decoded the JSON already: dicts are not hashable
            texts = [
                text if text is None or isinstance(text, (str, bytes)) else json.dumps(text)
                for text in texts
            ]
            return np.array([get(text) or add(text) for text in texts], dtype=np.int64)

    def table(self) -> np.ndarray:
        """Return the vector of every code (row 0 unused), int64 (codes, dimensions)."""
        return np.array(self.vectors, dtype=np.int64).reshape(-1, len(self.dimension_keys))

    def _add(self, text) -> int:
        labels = json.loads(text) if text is not None else None
        if isinstance(labels, dict):
            vector = [
                value if type(value) is int else _label_number(value)
                for value in map(labels.get, self.dimension_keys)
            ]
        else:
            vector = [0] * len(self.dimension_keys)
        code = self.codes[text] = len(self.vectors)
        self.vectors.append(vector)
        return code


def _read_columns(
    queryset: QuerySet, label_column: int | None = None, reader: _LabelVectors | None = None
) -> tuple | None:
    """Return the columns of ``queryset``'s rows as arrays, the label column as codes of
    ``reader`` (rows read on a plain cursor: see ``_raw_rows``); None when there is no row."""
    chunks: list[list[np.ndarray]] = []
    with connections[queryset.db].cursor() as cursor:
        rows = _raw_rows(queryset, cursor)
        while chunk := rows.fetchmany(DASHBOARD_CHUNK_SIZE):
            columns = list(zip(*chunk, strict=True))
            chunks.append(
                [
                    reader.encode(column) if index == label_column else np.array(column)
                    for index, column in enumerate(columns)
                ]
            )
    if not chunks:
        return None
    return tuple(np.concatenate(parts) for parts in zip(*chunks, strict=True))


def _label_columns(field: str, dimension_keys: list[str]) -> dict:
    # The database reads each label out of the JSON document as an integer; a missing label
    # reads as NULL (taken as 0).
    return {
        f"d{d}": Cast(KeyTextTransform(key, field), IntegerField())
        for d, key in enumerate(dimension_keys)
    }


def _read_labelled(
    queryset: QuerySet, fields: list[str], label_field: str, dimension_keys: list[str]
) -> tuple[list[np.ndarray], np.ndarray] | None:
    """Return the numeric ``fields`` of ``queryset``'s rows as arrays, in no set order, and
    the labels of ``label_field`` as int8 (rows, dimensions) clipped to -1..1; None when there
    is no row. Rows are read on a plain cursor (see ``_raw_rows``).

    On PostgreSQL the database extracts each label as an integer: sending ten small integers
    a row costs less than sending the JSON text (measured: 0.6 s against 1.1 s for 300k
    annotations). SQLite's JSON functions are slower than decoding each distinct text once.
    """
    queryset = queryset.order_by()  # sorting rows with their JSON spills to disk; numpy sorts
    if connections[queryset.db].vendor == "sqlite":
        reader = _LabelVectors(dimension_keys)
        columns = _read_columns(queryset.values_list(*fields, label_field), len(fields), reader)
        if columns is None:
            return None
        return list(columns[:-1]), reader.table().clip(-1, 1).astype(np.int8)[columns[-1]]
    labels = _label_columns(label_field, dimension_keys)
    queryset = queryset.annotate(**labels).values_list(*fields, *labels)
    chunks = []
    with connections[queryset.db].cursor() as cursor:
        rows = _raw_rows(queryset, cursor)
        while chunk := rows.fetchmany(DASHBOARD_CHUNK_SIZE):
            chunks.append(np.array(chunk, dtype=float).reshape(len(chunk), -1))  # NULL -> nan
    if not chunks:
        return None
    table = np.concatenate(chunks)
    columns = [table[:, index] for index in range(len(fields))]
    return columns, np.nan_to_num(table[:, len(fields) :], nan=0.0).clip(-1, 1).astype(np.int8)


def label_matrix(*, project: Project, dimension_keys: list[str]) -> dict:
    """Return the counted annotations as arrays, one row per annotation, in item order.

    ``{"item": ids, "annotator": ids, "saw_prelabel": bools, "seconds": floats,
    "labels": int8 (annotations, dimensions)}``; a label is read as the integer the database
    casts it to, a missing one as 0, and clipped to -1..1.
    """
    fields = ["item_id", "annotator_id", "saw_prelabel", "seconds"]
    read = _read_labelled(counted_annotations(project=project), fields, "labels", dimension_keys)
    if read is None:
        return {
            "item": np.zeros(0, dtype=np.int64),
            "annotator": np.zeros(0, dtype=np.int64),
            "saw_prelabel": np.zeros(0, dtype=bool),
            "seconds": np.zeros(0),
            "labels": np.zeros((0, len(dimension_keys)), dtype=np.int8),
        }
    (item, annotator, saw_prelabel, seconds), labels = read
    order = np.argsort(item, kind="stable")
    return {
        "item": item[order].astype(np.int64),
        "annotator": annotator[order].astype(np.int64),
        "saw_prelabel": saw_prelabel[order].astype(bool),
        "seconds": seconds[order].astype(float),
        "labels": labels[order],
    }


def item_labels_by_id(*, items: QuerySet, field: str, dimension_keys: list[str]):
    """Return (item ids, labels int8 (items, dimensions)) of a JSON label field of ``items``."""
    read = _read_labelled(items, ["pk"], field, dimension_keys)
    if read is None:
        return np.zeros(0, dtype=np.int64), np.zeros((0, len(dimension_keys)), dtype=np.int8)
    (ids,), labels = read
    order = np.argsort(ids, kind="stable")
    return ids[order].astype(np.int64), labels[order]


def counts_by_item(matrix: dict, dimensions: int):
    """Return (item ids, counts[item, dimension, label]) from a ``label_matrix``."""
    item_ids, row_item = np.unique(matrix["item"], return_inverse=True)
    index = (row_item[:, None] * dimensions + np.arange(dimensions)) * 3 + (matrix["labels"] + 1)
    counts = np.bincount(index.ravel(), minlength=len(item_ids) * dimensions * 3)
    return item_ids, counts.reshape(len(item_ids), dimensions, 3).astype(float)


def item_label_counts(*, project: Project, dimension_keys: list[str]):
    """Return (item ids, counts[item, dimension, label]) over the counted annotations."""
    # The labels of ``label_matrix`` alone: fewer bytes to read and convert.
    read = _read_labelled(
        counted_annotations(project=project), ["item_id"], "labels", dimension_keys
    )
    if read is None:
        read = [np.zeros(0)], np.zeros((0, len(dimension_keys)), dtype=np.int8)
    (item,), labels = read
    matrix = {"item": item.astype(np.int64), "labels": labels}
    return counts_by_item(matrix, len(dimension_keys))


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
    from annotation.agreement import distribution

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
    from annotation.quality import gold_accuracy_by_worker

    excluded_rows = _read_columns(
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
                "excluded": worker_id in excluded,
            }
        )
    return sorted(summaries, key=lambda row: (-row["annotations"], row["worker"]))


def llm_vs_humans(item_ids, counts, prelabels: tuple, dimension_keys: list[str]) -> dict:
    """Return, per dimension, how the pre-label agrees with the human majority (share, AC1/2)."""
    from annotation.agreement import LABELS, majority_labels, pair_agreement

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
    from annotation.agreement import pca_2d

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
    from annotation.agreement import DEFAULT_RESAMPLES, agreement_by_dimension

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
    import time

    from django.core.cache import cache

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


# --- Export filters ---------------------------------------------------------------------------

TRUE_WORDS = ("1", "true", "yes", "on")


def export_filters(params) -> dict:
    """Return the export options in ``params`` (a query dict or a command's options).

    ``complete_only``, ``labelled_only`` and ``adjudicated_only`` are flags; ``since`` and
    ``until`` are ISO dates or date-times (UTC when no zone is given; ``until`` is exclusive, so
    ``until=2026-11-25`` keeps annotations made on the 24th). Raise ``ValidationError`` naming
    the bad field.
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
        "labelled_only": flag("labelled_only"),
        "since": moment("since"),
        "until": moment("until"),
    }
    if options["since"] and options["until"] and options["since"] >= options["until"]:
        raise ValidationError({"until": "must be after since"})
    return options
