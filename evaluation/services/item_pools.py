"""Item pools: versions of prompts, imported from a file or taken from an annotation project."""

import hashlib
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from annotation.models import Project
from core.models import User
from evaluation import pools
from evaluation.models import ItemPool, PoolItem, prompt_hash


def pool_import(
    *,
    name: str,
    data: bytes | str,
    filename: str = "",
    skip_invalid: bool = False,
    provenance: str = ItemPool.Provenance.IMPORTED,
    created_by: User | None = None,
    dimensions: list[str] | None = None,
) -> tuple[ItemPool, list[str]]:
    """Store the file's prompts as the next version of pool ``name``; return (pool, errors).

    Any bad line refuses the whole file (ValidationError listing every line) unless
    ``skip_invalid``. The same file imported again returns the version it made, adding nothing.
    """
    name = (name or Path(filename).stem or "pool").strip()[:200]
    try:
        parsed = pools.parse_pool(data, filename=filename, dimensions=dimensions)
    except pools.PoolFileError as error:
        raise ValidationError({"file": str(error)}) from None
    if parsed.errors and not skip_invalid:
        raise ValidationError({"file": parsed.errors})
    if not parsed.lines:
        raise ValidationError({"file": "no prompt could be read"})
    same = ItemPool.objects.filter(name=name, content_hash=parsed.content_hash).first()
    if same is not None:
        return same, parsed.errors
    return (
        pool_store(
            name=name,
            lines=parsed.lines,
            provenance=provenance,
            source=filename,
            content_hash=parsed.content_hash,
            created_by=created_by,
            details={"skipped": len(parsed.errors)},
        ),
        parsed.errors,
    )


def pool_from_project(
    *, project: Project, name: str = "", created_by: User | None = None
) -> ItemPool:
    """Store the distinct prompts of an annotation project's items as the next version of pool
    ``name`` (default: the project's slug), each with the item it came from.

    Training items and attention checks are left out (they are not the project's data). The
    same prompts taken again return the version they made, adding nothing.
    """
    name = (name or project.slug).strip()[:200]
    items = project.items.exclude(kind__in=["training", "attention"]).order_by("pk")
    lines: list[pools.PoolLine] = []
    seen: set[str] = set()
    for external_id, prompt in items.values_list("external_id", "prompt").iterator():
        if not prompt.strip() or prompt in seen:
            continue  # several responses to one prompt: one item of the pool
        seen.add(prompt)
        source = f"annotation:{project.slug}/{external_id}"
        lines.append(pools.PoolLine(key=external_id, prompt=prompt, meta={"source": source}))
    if not lines:
        raise ValidationError({"project": f"the project “{project.slug}” has no prompts to take"})
    digest = hashlib.sha256("\n".join(line.prompt for line in lines).encode()).hexdigest()
    same = ItemPool.objects.filter(name=name, content_hash=digest).first()
    if same is not None:
        return same
    return pool_store(
        name=name,
        lines=lines,
        provenance=ItemPool.Provenance.ANNOTATION,
        source=f"annotation project {project.slug}",
        content_hash=digest,
        created_by=created_by,
        details={"project": project.slug, "items": items.count()},
    )


def pool_store(
    *,
    name: str,
    lines: list[pools.PoolLine],
    provenance: str,
    source: str = "",
    content_hash: str = "",
    parent: ItemPool | None = None,
    created_by: User | None = None,
    details: dict | None = None,
) -> ItemPool:
    """Store ``lines`` as a new version of pool ``name`` (the next free number)."""
    for _ in range(3):
        version = (ItemPool.objects.filter(name=name).aggregate(v=Max("version"))["v"] or 0) + 1
        try:
            with transaction.atomic():
                pool = ItemPool.objects.create(
                    name=name,
                    version=version,
                    provenance=provenance,
                    source=source[:500],
                    content_hash=content_hash,
                    parent=parent,
                    created_by=created_by,
                    details=details or {},
                )
                PoolItem.objects.bulk_create(
                    PoolItem(
                        pool=pool,
                        key=line.key,
                        prompt=line.prompt,
                        prompt_hash=prompt_hash(line.prompt),
                        value=line.value,
                        meta=line.meta,
                        position=position,
                    )
                    for position, line in enumerate(lines)
                )
                return pool
        except IntegrityError:
            continue  # another import took that version number: take the next one
    raise ValidationError({"name": f"could not store a new version of {name!r}; try again"})
