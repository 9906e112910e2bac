"""Quality of a worker's labelling: flags, gold accuracy, warnings and the stop.

Called by ``annotation_submit`` inside its transaction, once per stored annotation; reads for
the researcher (``gold_accuracy_by_worker``) live here too so the rules sit in one place.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from annotation.leases import worker_slots_reopen
from annotation.models import Annotation, Item, Project, QualityFlag, WorkerStatus
from core.models import User
from core.stats import mean_interval


@dataclass
class QualityOutcome:
    """What one annotation did to the worker's standing, and training feedback if any."""

    flags: list[str] = field(default_factory=list)
    state: str = WorkerStatus.State.ACTIVE
    feedback: dict | None = None


STREAK_UP, STREAK_RESET = "+1", "0"


def habit_review(
    *,
    min_seconds: float,
    streak: int,
    labels: dict,
    prelabel_kept: dict | None,
    seconds: float,
    same_streak: int,
    kept_streak: int,
    timed: bool = True,
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Return how one annotation moves the worker's streaks, and the flags it raises.

    Streak changes are ``{"same_streak" | "kept_streak": STREAK_UP | STREAK_RESET}``; flags
    ``(kind, detail)``: too fast (``timed`` items only), every dimension the same, and the
    pre-label accepted unchanged, each ``streak`` items in a row (the project's
    ``min_seconds`` and ``straightline_streak``).
    """
    changes: dict[str, str] = {}
    flags: list[tuple[str, str]] = []
    if timed and seconds < min_seconds:
        flags.append((QualityFlag.Kind.TOO_FAST, f"{seconds:.1f} s on one item"))
    if len(set(labels.values())) == 1:
        changes["same_streak"] = STREAK_UP
        if streak and (same_streak + 1) % streak == 0:
            flags.append((QualityFlag.Kind.STRAIGHT_LINE, f"{same_streak + 1} items in a row"))
    else:
        changes["same_streak"] = STREAK_RESET
    if prelabel_kept is not None:
        if all(prelabel_kept.values()):
            changes["kept_streak"] = STREAK_UP
            if streak and (kept_streak + 1) % streak == 0:
                detail = f"{kept_streak + 1} items in a row"
                flags.append((QualityFlag.Kind.PRELABEL_STREAK, detail))
        else:
            changes["kept_streak"] = STREAK_RESET
    return changes, flags


def labels_match(given: dict, reference: dict, keys: list[str]) -> dict[str, bool]:
    """Return, per dimension in ``keys``, whether ``given`` agrees with ``reference``."""
    return {key: int(given.get(key, 0)) == int(reference.get(key, 0)) for key in keys}


def annotation_review(
    *,
    annotation: Annotation,
    item: Item,
    project: Project,
    status: WorkerStatus,
    dimension_keys: list[str],
) -> QualityOutcome:
    """Update the worker's counters and flags for a new ``annotation``; return the outcome.

    Runs inside the submit transaction. Counters move with ``F()`` (two tabs never lose a
    count); flags are rows, and the worker is warned, then stopped, when their number crosses
    the project's thresholds.
    """
    outcome = QualityOutcome(state=status.state)
    labels = annotation.labels
    reference = item.reference_labels or {}
    updates: dict = {}
    flags: list[tuple[str, str]] = []

    if item.kind == "training":
        matches = labels_match(labels, reference, dimension_keys)
        outcome.feedback = {
            key: {"yours": labels[key], "reference": int(reference.get(key, 0)), "ok": ok}
            for key, ok in matches.items()
        }
        return outcome  # practice: no counters, no flags

    if item.kind == "attention":
        updates["n_attention"] = F("n_attention") + 1
        checked = list((item.meta or {}).get("attention", {}).get("dimensions") or reference)
        if not all(labels_match(labels, reference, checked).values()):
            flags.append((QualityFlag.Kind.ATTENTION, f"missed the check on {', '.join(checked)}"))
    elif item.is_gold:
        updates["n_gold"] = F("n_gold") + 1
    else:
        updates["n_done"] = F("n_done") + 1

    streak_updates, streak_flags = habit_review(
        min_seconds=project.min_seconds,
        streak=project.straightline_streak,
        labels=labels,
        prelabel_kept=annotation.prelabel_kept,
        seconds=annotation.seconds,
        same_streak=status.same_streak,
        kept_streak=status.kept_streak,
        timed=item.kind != "attention",
    )
    updates.update(
        {name: F(name) + 1 if change == STREAK_UP else 0 for name, change in streak_updates.items()}
    )
    flags.extend(streak_flags)

    if item.is_gold and item.kind == "task":
        accuracy, n_gold = _gold_accuracy(
            project=project, worker=annotation.annotator, keys=dimension_keys
        )
        if n_gold >= project.gold_min_items and accuracy < project.min_gold_accuracy:
            flags.append((QualityFlag.Kind.GOLD, f"{accuracy:.0%} over {n_gold} gold items"))

    if flags:
        QualityFlag.objects.bulk_create(
            [
                QualityFlag(
                    project=project,
                    worker=annotation.annotator,
                    annotation=annotation,
                    kind=kind,
                    detail=detail,
                )
                for kind, detail in flags
            ]
        )
        updates["n_flags"] = F("n_flags") + len(flags)
    WorkerStatus.objects.filter(pk=status.pk).update(**updates)
    outcome.flags = [kind for kind, _ in flags]
    if not flags or not (project.flags_warn or project.flags_stop):
        return outcome  # thresholds only move with new flags, and only if the project has any
    status.refresh_from_db(fields=["n_flags", "state"])
    outcome.state = _apply_thresholds(project=project, status=status)
    return outcome


def _apply_thresholds(*, project: Project, status: WorkerStatus) -> str:
    state = status.state
    if state in (WorkerStatus.State.STOPPED, WorkerStatus.State.EXCLUDED):
        return state
    if project.flags_stop and status.n_flags >= project.flags_stop:
        state = WorkerStatus.State.STOPPED
    elif project.flags_warn and status.n_flags >= project.flags_warn:
        state = WorkerStatus.State.WARNED
    if state != status.state:
        WorkerStatus.objects.filter(pk=status.pk).exclude(
            state__in=[WorkerStatus.State.STOPPED, WorkerStatus.State.EXCLUDED]
        ).update(state=state)
        if state == WorkerStatus.State.STOPPED:
            # A stopped worker's open lease goes back to the pool at once; their labels stay.
            from annotation.models import Slot

            Slot.objects.filter(
                project=project, worker_id=status.worker_id, state=Slot.State.LEASED
            ).update(state=Slot.State.FREE, worker=None, leased_at=None, lease_expires=None)
        status.state = state
    return state


def _gold_accuracy(*, project: Project, worker: User, keys: list[str]) -> tuple[float, int]:
    right = total = n = 0
    for labels, reference in Annotation.objects.filter(
        item__project=project, item__is_gold=True, item__kind="task", annotator=worker
    ).values_list("labels", "item__reference_labels"):
        n += 1
        for ok in labels_match(labels, reference or {}, keys).values():
            right += ok
            total += 1
    return (right / total if total else 1.0), n


def gold_accuracy_by_worker(*, project: Project) -> dict[int, dict]:
    """Return each worker's accuracy on the project's gold items, overall and per dimension.

    ``{worker_id: {"pseudonym": str, "n_gold": int, "accuracy": float, "accuracy_ci": [low,
    high], "dimensions": {key: float}}}`` — the share of gold items where the worker's label on
    that dimension equals the reference label. The interval is a 95% bootstrap over the worker's
    gold items (an item's labels are not independent of each other, so items are what is
    resampled). Workers with no gold item are absent.
    """
    keys = project.scheme.dimension_keys()
    right: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(keys, 0))
    per_item: dict[int, list[float]] = defaultdict(list)
    names: dict[int, str] = {}
    rows = Annotation.objects.filter(
        item__project=project, item__is_gold=True, item__kind="task"
    ).values_list("annotator_id", "annotator__pseudonym", "labels", "item__reference_labels")
    for worker_id, pseudonym, labels, reference in rows:
        names[worker_id] = pseudonym
        matches = labels_match(labels, reference or {}, keys)
        for key, ok in matches.items():
            right[worker_id][key] += ok
        per_item[worker_id].append(sum(matches.values()) / len(keys) if keys else 1.0)
    result = {}
    for worker_id, items in per_item.items():
        n = len(items)
        dimensions = {key: right[worker_id][key] / n for key in keys}
        result[worker_id] = {
            "pseudonym": names[worker_id],
            "n_gold": n,
            "accuracy": sum(dimensions.values()) / len(keys) if keys else 1.0,
            "accuracy_ci": mean_interval(items),
            "dimensions": dimensions,
        }
    return result


def worker_exclude(*, project: Project, worker: User) -> int:
    """Exclude ``worker`` from ``project``: their labels stop counting, their slots re-open.

    Return how many slots went back to the pool. Idempotent.
    """
    with transaction.atomic():
        status, _ = WorkerStatus.objects.get_or_create(project=project, worker=worker)
        WorkerStatus.objects.filter(pk=status.pk).update(state=WorkerStatus.State.EXCLUDED)
        # Slots first: a submit of theirs in flight holds its slot's row lock, so this waits
        # for it, and the annotations' update after it (a new snapshot) catches its label.
        # The other way round, that label could stay counted beside its re-opened slot.
        reopened = worker_slots_reopen(project=project, worker=worker)
        Annotation.objects.filter(item__project=project, annotator=worker).update(excluded=True)
        return reopened


ITEM_ROLES = ("task", "gold", "training")


def items_set_role(
    *,
    project: Project,
    role: str,
    external_ids: list[str] | None = None,
    count: int | None = None,
) -> int:
    """Make items gold, training items, or plain items again; return how many changed.

    Choose them by ``external_ids``, or take ``count`` items with reference labels (lowest
    ids first) that nobody has labelled yet. Gold and training items need reference labels.
    Items leaving the pool lose their open slots (a leased one finishes normally); items
    joining it get theirs. Raise ``ValidationError`` naming the field otherwise.
    """
    from annotation.models import Slot
    from annotation.slots import slots_ensure

    if role not in ITEM_ROLES:
        raise ValidationError({"role": [f"must be one of {', '.join(ITEM_ROLES)}"]})
    if (external_ids is None) == (count is None):
        raise ValidationError({"external_ids": ["give either external_ids or count"]})
    items = Item.objects.filter(project=project).exclude(kind="attention")
    if external_ids is not None:
        chosen = items.filter(external_id__in=external_ids)
        found = set(chosen.values_list("external_id", flat=True))
        missing = [e for e in external_ids if e not in found]
        if missing:
            raise ValidationError(
                {"external_ids": [f"not in this project: {', '.join(missing[:20])}"]}
            )
    else:
        if count < 1:
            raise ValidationError({"count": ["must be at least 1"]})
        chosen = items.filter(kind="task", is_gold=False, reference_labels__isnull=False).exclude(
            annotations__isnull=False
        )
        chosen = items.filter(
            pk__in=list(chosen.order_by("pk").values_list("pk", flat=True)[:count])
        )
    if role != "task" and chosen.filter(reference_labels__isnull=True).exists():
        raise ValidationError({"external_ids": [f"{role} items need reference labels"]})
    with transaction.atomic():
        ids = list(chosen.values_list("pk", flat=True))
        changed = Item.objects.filter(pk__in=ids).update(
            is_gold=role == "gold", kind="training" if role == "training" else "task"
        )
        if role == "task":
            slots_ensure(project=project)
        else:
            Slot.objects.filter(
                item_id__in=ids, position__isnull=False, state=Slot.State.FREE
            ).delete()
    return changed


ATTENTION_WORDS = {-1: "−1 (violates)", 1: "+1 (upholds)"}


def attention_checks_create(*, project: Project, n: int = 3) -> list[Item]:
    """Add ``n`` attention checks to ``project``: items whose text asks for one exact label.

    Each names a dimension and a label (cycling through the scheme); a worker who reads it sets
    that label and 0 elsewhere. Idempotent per number: re-running adds none twice.
    """
    dimensions = list(project.scheme.dimensions.order_by("position", "pk"))
    created = []
    for number in range(n):
        dimension = dimensions[(number * 3 + 4) % len(dimensions)]
        label = 1 if number % 2 == 0 else -1
        reference = {d.key: 0 for d in dimensions} | {dimension.key: label}
        item, _ = Item.objects.get_or_create(
            project=project,
            external_id=f"attention-{number + 1}",
            defaults={
                "kind": "attention",
                "prompt": "A quick check that you are reading carefully.",
                "response": (
                    f"This is an attention check. Set **{dimension.name}** to "
                    f"**{ATTENTION_WORDS[label]}** and leave every other value at 0."
                ),
                "reference_labels": reference,
                "meta": {"attention": {"dimensions": [d.key for d in dimensions]}},
            },
        )
        created.append(item)
    return created
