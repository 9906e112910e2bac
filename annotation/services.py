"""Writes of the annotation app: value schemes, projects and the import of items."""

from dataclasses import dataclass, field
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.db import transaction

from annotation.importing import ImportFileError, LineError, ParsedItem, parse_items
from annotation.models import Item, Project, ValueDimension, ValueScheme
from core.models import Study, User

DEFAULT_SCHEME = "schwartz10"
IMPORT_BATCH_SIZE = 1000
# A file of 100k bad lines must not make a 100k-line report; the count stays exact.
MAX_REPORTED_ERRORS = 1000


# --- Value schemes ------------------------------------------------------------------------------


def scheme_import(*, data: object) -> ValueScheme:
    """Create a value scheme and its dimensions from an uploaded JSON document.

    The shape: ``{"key", "name", "description"?, "dimensions": [{"key", "name", "definition",
    "examples"?: [str]}, ...]}``, dimensions in scheme order. Raise ``ValidationError`` naming
    each bad field (``dimensions[2].key``) and store nothing then.
    """
    if not isinstance(data, dict):
        raise ValidationError({"scheme": ["must be a JSON object with key, name and dimensions"]})
    errors: dict[str, list[str]] = {}
    scheme = ValueScheme(
        key=data.get("key") or "",
        name=data.get("name") or "",
        description=data.get("description") or "",
    )
    try:
        scheme.full_clean()
    except ValidationError as error:
        errors.update(error.message_dict)
    raw_dimensions = data.get("dimensions")
    dimensions: list[ValueDimension] = []
    if not isinstance(raw_dimensions, list) or not raw_dimensions:
        errors["dimensions"] = ["must be a non-empty list of {key, name, definition}"]
        raw_dimensions = []
    seen: set[str] = set()
    for position, raw in enumerate(raw_dimensions):
        prefix = f"dimensions[{position}]"
        if not isinstance(raw, dict):
            errors[prefix] = ["must be an object with key, name and definition"]
            continue
        examples = raw.get("examples", [])
        if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
            errors[f"{prefix}.examples"] = ["must be a list of texts"]
            examples = []
        dimension = ValueDimension(
            key=raw.get("key") or "",
            name=raw.get("name") or "",
            definition=raw.get("definition") or "",
            examples=examples,
            position=position,
        )
        try:
            dimension.full_clean(exclude=["scheme"], validate_constraints=False)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                errors[f"{prefix}.{name}"] = messages
        if dimension.key in seen:
            errors[f"{prefix}.key"] = [f"{dimension.key!r} appears twice"]
        seen.add(dimension.key)
        dimensions.append(dimension)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        scheme.save()
        for dimension in dimensions:
            dimension.scheme = scheme
        ValueDimension.objects.bulk_create(dimensions)
    return scheme


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
    )
    project.full_clean()
    project.save()
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
) -> ImportReport:
    """Store the items of a JSONL or CSV file in ``project`` and return what happened.

    The file is read line by line and stored in batches, all inside one transaction. By default
    any bad line stores nothing: raise ``ItemImportRejected`` whose report lists every bad line.
    With ``skip_invalid`` the good lines are stored and the bad ones reported. A file that cannot
    be read as a whole (not UTF-8, empty, a line over the limit) always stores nothing. Items
    already in the project (same id, or same prompt and response) are counted as duplicates.
    """
    report = ImportReport()
    dimension_keys = project.scheme.dimension_keys()
    valid = 0
    with transaction.atomic():
        before = Item.objects.filter(project=project).count()
        batch: list[Item] = []
        try:
            for parsed in parse_items(stream, dimension_keys=dimension_keys, filename=filename):
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
