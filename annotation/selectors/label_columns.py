"""Labels as numpy columns: a project's counted annotations, pre-labels and reference labels."""

import json
from math import isfinite

import numpy as np
from django.db import connections
from django.db.models import IntegerField, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from annotation.models import Project
from annotation.selectors.projects import counted_annotations
from annotation.selectors.rows import raw_rows

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


def read_columns(
    queryset: QuerySet, label_column: int | None = None, reader: _LabelVectors | None = None
) -> tuple | None:
    """Return the columns of ``queryset``'s rows as arrays, the label column as codes of
    ``reader`` (rows read on a plain cursor: see ``raw_rows``); None when there is no row."""
    chunks: list[list[np.ndarray]] = []
    with connections[queryset.db].cursor() as cursor:
        rows = raw_rows(queryset, cursor)
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
    is no row. Rows are read on a plain cursor (see ``raw_rows``).

    On PostgreSQL the database extracts each label as an integer: sending ten small integers
    a row costs less than sending the JSON text (measured: 0.6 s against 1.1 s for 300k
    annotations). SQLite's JSON functions are slower than decoding each distinct text once.
    """
    queryset = queryset.order_by()  # sorting rows with their JSON spills to disk; numpy sorts
    if connections[queryset.db].vendor == "sqlite":
        reader = _LabelVectors(dimension_keys)
        columns = read_columns(queryset.values_list(*fields, label_field), len(fields), reader)
        if columns is None:
            return None
        return list(columns[:-1]), reader.table().clip(-1, 1).astype(np.int8)[columns[-1]]
    labels = _label_columns(label_field, dimension_keys)
    queryset = queryset.annotate(**labels).values_list(*fields, *labels)
    chunks = []
    with connections[queryset.db].cursor() as cursor:
        rows = raw_rows(queryset, cursor)
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
