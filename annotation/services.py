"""Writes of the annotation app: value schemes, projects, the import of items, labelling."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.importing import ImportFileError, parse_items
from annotation.item_records import LineError, ParsedItem
from annotation.labelling import scheme_dimension_keys
from annotation.leases import NotAssigned, slot_complete
from annotation.models import Annotation, Item, Prelabel, Project
from annotation.quality import QualityOutcome, annotation_review
from annotation.quota import worker_status_for
from annotation.slots import slots_ensure
from core.models import Study, User, ValueScheme

DEFAULT_SCHEME = "schwartz10"
IMPORT_BATCH_SIZE = 1000
# A file of 100k bad lines must not make a 100k-line report; the count stays exact.
MAX_REPORTED_ERRORS = 1000


# --- Projects -----------------------------------------------------------------------------------


def project_create(
    *,
    name: str,
    slug: str,
    scheme: ValueScheme,
    created_by: User | None,
    instructions: str = "",
    overlap: int = 3,
    prelabel: bool = False,
    study: Study | None = None,
    text_format: str = Project.TextFormat.PLAIN,
) -> Project:
    """Create and return a project; raise ``ValidationError`` for a taken slug or bad overlap."""
    project = Project(
        name=name,
        slug=slug,
        scheme=scheme,
        instructions=instructions,
        overlap=overlap,
        prelabel=prelabel,
        study=study,
        created_by=created_by,
        text_format=text_format,
    )
    project.full_clean()
    project.save()
    return project


def project_settings_update(*, project: Project, **fields) -> Project:
    """Change the project's labelling and quality settings; return it.

    Raising ``overlap`` gives every item its new slots at once; lowering it stops handing out
    the extra slots (positions at or past the new overlap are never claimed).
    """
    for name, value in fields.items():
        setattr(project, name, value)
    project.full_clean()
    with transaction.atomic():
        project.save()
        if "overlap" in fields:
            slots_ensure(project=project)
    return project


# --- Import -------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did: items stored, lines already there, lines refused and why."""

    stored: int = 0
    duplicates: int = 0
    invalid: int = 0
    errors: list[str] = field(default_factory=list)

    def add_error(self, error: LineError | str) -> None:
        self.invalid += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(str(error))

    def as_dict(self) -> dict:
        shown = len(self.errors)
        errors = list(self.errors)
        if self.invalid > shown:
            errors.append(f"… and {self.invalid - shown} more bad lines")
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "errors": errors,
        }


class ItemImportRejected(ValidationError):
    """An all-or-nothing import met bad lines (or the file was unreadable): nothing was stored."""

    def __init__(self, report: ImportReport):
        self.report = report
        super().__init__({"file": report.as_dict()["errors"]})


def item_import(
    *,
    project: Project,
    stream: BinaryIO,
    filename: str = "",
    skip_invalid: bool = False,
    batch_size: int = IMPORT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Store the items of a JSONL or CSV file in ``project`` and return what happened.

    The file is read line by line and stored in batches, all inside one transaction. By default
    any bad line stores nothing: raise ``ItemImportRejected`` whose report lists every bad line.
    With ``skip_invalid`` the good lines are stored and the bad ones reported. A file that cannot
    be read as a whole (not UTF-8, empty, a line over the limit) always stores nothing. Items
    already in the project (same id, or same prompt and response) are counted as duplicates.
    ``progress``, if given, is called with the number of lines read after every ``batch_size``
    lines (an exception it raises, e.g. a cancelled job, rolls the import back).
    """
    report = ImportReport()
    dimension_keys = project.scheme.dimension_keys()
    valid = 0
    with transaction.atomic():
        before = Item.objects.filter(project=project).count()
        batch: list[Item] = []
        try:
            for read, parsed in enumerate(
                parse_items(stream, dimension_keys=dimension_keys, filename=filename), start=1
            ):
                if progress is not None and read % batch_size == 0:
                    progress(read)
                if isinstance(parsed, LineError):
                    report.add_error(parsed)
                    continue
                valid += 1
                # An all-or-nothing import that has failed only needs to find the other bad lines.
                if report.invalid and not skip_invalid:
                    continue
                batch.append(_item_from(parsed, project=project))
                if len(batch) >= batch_size:
                    _store(batch)
                    batch = []
        except ImportFileError as error:
            transaction.set_rollback(True)
            raise ItemImportRejected(ImportReport(errors=[str(error)]))
        if report.invalid and not skip_invalid:
            transaction.set_rollback(True)
            raise ItemImportRejected(report)
        _store(batch)
        report.stored = Item.objects.filter(project=project).count() - before
        slots_ensure(project=project)
    report.duplicates = valid - report.stored
    return report


def _item_from(parsed: ParsedItem, *, project: Project) -> Item:
    return Item(
        project=project,
        external_id=parsed.external_id,
        prompt=parsed.prompt,
        response=parsed.response,
        source=parsed.source,
        meta=parsed.meta,
        reference_labels=parsed.reference_labels,
        # Reference labels make an item usable as gold; which items serve as gold is the
        # researcher's choice, so none is gold just for having them.
        is_gold=False,
    )


def _store(batch: list[Item]) -> None:
    # The unique (project, external_id) constraint makes a re-imported line a no-op.
    if batch:
        Item.objects.bulk_create(batch, ignore_conflicts=True)


# --- Labelling ----------------------------------------------------------------------------------


@dataclass
class SubmitResult:
    """A submitted annotation, whether this request stored it, and what quality made of it."""

    annotation: Annotation
    created: bool
    outcome: QualityOutcome | None = None


def labels_clean(*, labels: object, dimension_keys: list[str]) -> dict[str, int]:
    """Return ``labels`` as ``{key: -1|0|1}`` for exactly the scheme's dimensions.

    Raise ``ValidationError`` naming each bad field (``labels.power``) otherwise. Integers are
    taken as they are; the texts "-1", "0", "1", "+1" (what a form sends) are read as numbers.
    """
    if not isinstance(labels, dict):
        raise ValidationError({"labels": ["must be an object {dimension: -1 | 0 | 1}"]})
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, int] = {}
    for key in dimension_keys:
        if key not in labels:
            errors[f"labels.{key}"] = ["missing: every dimension needs a label"]
            continue
        value = labels[key]
        if isinstance(value, str) and value.strip() in LABEL_TEXTS:
            value = LABEL_TEXTS[value.strip()]
        if isinstance(value, bool) or value not in (-1, 0, 1) or isinstance(value, float):
            errors[f"labels.{key}"] = [f"must be -1, 0 or 1, not {value!r}"]
            continue
        cleaned[key] = int(value)
    for key in labels:
        if key not in cleaned and f"labels.{key}" not in errors:
            errors[f"labels.{key}"] = ["not a dimension of this project's scheme"]
    if errors:
        raise ValidationError(errors)
    return cleaned


LABEL_TEXTS = {"-1": -1, "0": 0, "1": 1, "+1": 1}
MAX_SECONDS = 6 * 3600


def annotation_submit(
    *,
    worker: User,
    item: Item,
    labels: object,
    seconds: float | None = None,
    project: Project | None = None,
    page_version: str = "",
) -> SubmitResult:
    """Store the worker's labels for every dimension of ``item`` and free their lease.

    ``page_version`` names the labelling page the labels were given on ("" from the API).

    Return the stored annotation with ``created``; a repeated submit (double click, retry)
    returns the first one with ``created=False`` and stores nothing. Raise ``ValidationError``
    for bad labels or an item of another project, ``NotAssigned`` (403) for an item not leased
    to the worker, ``PermissionDenied`` for a stopped or excluded worker. Nothing is half-written.
    """
    if project is not None and item.project_id != project.pk:
        raise ValidationError({"item": [f"item {item.pk} belongs to another project"]})
    project = item.project
    try:
        dimension_keys = scheme_dimension_keys(scheme=project.scheme)
        cleaned = labels_clean(labels=labels, dimension_keys=dimension_keys)
        status = worker_status_for(project=project, worker=worker)
        if not status.may_label:
            raise PermissionDenied("You can no longer label items in this project.")
        with transaction.atomic():
            slot = slot_complete(item=item, worker=worker)
            prelabel = _prelabel_shown(item, leased_at=slot.leased_at)
            saw_prelabel = bool(prelabel) and not slot.blind and item.kind != "attention"
            annotation = Annotation.objects.create(
                item=item,
                annotator=worker,
                labels=cleaned,
                saw_prelabel=saw_prelabel,
                prelabel_kept=(
                    prelabel_kept(labels=cleaned, prelabel=prelabel, dimension_keys=dimension_keys)
                    if saw_prelabel
                    else None
                ),
                seconds=seconds_spent(given=seconds, leased_at=slot.leased_at),
                page_version=page_version,
            )
            outcome = annotation_review(
                annotation=annotation,
                item=item,
                project=project,
                status=status,
                dimension_keys=dimension_keys,
            )
    except (ValidationError, PermissionDenied, NotAssigned, IntegrityError):
        # A repeated submit (double click, retry, a concurrent submit of the same form that
        # won) finds its slot done: answer with what the first one stored, whatever this one
        # says. Looked up only on failure, so a first submit does not pay for the check.
        existing = Annotation.objects.filter(item=item, annotator=worker).first()
        if existing is None:
            raise
        return SubmitResult(annotation=existing, created=False)
    return SubmitResult(annotation=annotation, created=True, outcome=outcome)


def prelabel_kept(*, labels: dict, prelabel: dict, dimension_keys: list[str]) -> dict[str, bool]:
    """Return, for each dimension, whether the worker's label is the pre-label's they saw."""
    return {key: labels[key] == int(prelabel.get(key, 0)) for key in dimension_keys}


def _prelabel_shown(item: Item, *, leased_at) -> dict | None:
    """Return the labels of the pre-label the worker was shown with the item, or None.

    A pre-label that arrived after the item was handed out (the job still running) was not on
    the worker's screen. Callers load the item with select_related("prelabel").
    """
    try:
        prelabel = item.prelabel
    except Prelabel.DoesNotExist:
        return None
    if leased_at is not None and prelabel.created > leased_at:
        return None
    return prelabel.labels


def seconds_spent(*, given: float | None, leased_at) -> float:
    # The page measures the time the item was on screen; the server's clock (since the lease)
    # bounds it, so a forged or broken value cannot claim more time than passed.
    elapsed = (timezone.now() - leased_at).total_seconds() if leased_at else None
    if given is not None:
        try:
            given = float(given)
        except (TypeError, ValueError):
            given = None
    if given is not None and given >= 0 and (elapsed is None or given <= elapsed + 5):
        return round(min(given, MAX_SECONDS), 2)
    return round(min(elapsed or 0.0, MAX_SECONDS), 2)


def prelabels_store(
    *,
    labels_by_item: dict[int, dict],
    labeller: str,
    model: str,
    prompt_version: str,
    replace_prefix: str | None = None,
) -> int:
    """Store a pre-label for each item in ``labels_by_item``; return how many were stored.

    For labellers other than the LLM job (an evaluator). An item keeps the one pre-label it
    has (an LLM's that landed meanwhile), unless that pre-label's labeller starts with
    ``replace_prefix``: those are replaced. One transaction, so a batch is stored whole.
    """
    with transaction.atomic():
        if replace_prefix:
            Prelabel.objects.filter(
                item_id__in=list(labels_by_item), labeller__startswith=replace_prefix
            ).delete()
        created = Prelabel.objects.bulk_create(
            [
                Prelabel(
                    item_id=item_id,
                    labels=labels,
                    rationale="",
                    rationales={},
                    labeller=labeller,
                    model=model,
                    prompt_version=prompt_version,
                )
                for item_id, labels in labels_by_item.items()
            ],
            ignore_conflicts=True,
        )
    return len(created)
