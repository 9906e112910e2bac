"""The streamed export: one JSON line per item with its labels (contracts.md), in chunks."""

import json
from collections.abc import Iterator
from datetime import datetime
from math import isfinite

from django.conf import settings
from django.db import connections
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast

from annotation.aggregation import aggregate
from annotation.models import Annotation, Item, Project
from annotation.selectors.rows import raw_rows

EXPORT_CHUNK_SIZE = 2000


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

    JSON columns stay the database's text: see ``raw_rows``.
    """
    grouped: dict[int, list[tuple]] = {item_id: [] for item_id in item_ids}
    queryset = annotations_for_export(item_ids=item_ids)
    with connections[queryset.db].cursor() as cursor:
        for row in raw_rows(queryset, cursor).fetchall():
            annotations = grouped.get(row[0])
            if annotations is not None:
                annotations.append(row)
    return grouped


def project_export_lines(
    *,
    project: Project,
    chunk_size: int = EXPORT_CHUNK_SIZE,
    **filters: bool | datetime | None,
) -> Iterator[str]:
    """Yield the export of the project as JSON lines (contracts.md), each ending in a newline.

    ``filters`` choose the items as ``items_for_export``'s keyword arguments do
    (``complete_only``, ``adjudicated_only``, ``labelled_only``, ``since``, ``until``).
    Items are read ``chunk_size`` at a time (a server-side cursor on PostgreSQL) and the
    annotations of each chunk fetched in one query, so memory stays flat however large the
    project. Rows are read as the database's values and written straight to JSON text:
    building model instances, then dicts, then encoding them cost most of the export's time.
    """
    items = items_for_export(project=project, **filters)
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
        rows = raw_rows(items, cursor)
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
