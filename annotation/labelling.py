"""Reads for the labelling loop: what a worker may label and what they are shown."""

import statistics
import time
from collections import defaultdict

from django.db.models import Count, Q

from annotation.models import (
    Annotation,
    Prelabel,
    Project,
    QualityFlag,
    Slot,
    WorkerStatus,
)
from annotation.quality import gold_accuracy_by_worker
from core.models import Participation, User, ValueDimension, ValueScheme

# The dimension keys of each scheme, read once a minute per process instead of once per request
# of the annotate loop. Keyed by the scheme's id and creation time, so a scheme made under a
# re-used id (a fresh test database) is never mistaken for an old one; the minute bounds how long
# an edit of a scheme's dimensions in the admin takes to reach a running server.
DIMENSION_KEYS_TTL = 60.0
_dimension_keys: dict[tuple, tuple[float, list[str]]] = {}


def scheme_dimension_keys(*, scheme: ValueScheme) -> list[str]:
    """Return ``scheme.dimension_keys()``, cached in this process for ``DIMENSION_KEYS_TTL``."""
    return dimension_keys_cached(scheme_id=scheme.pk, created=scheme.created)


def dimension_keys_cached(*, scheme_id: int, created) -> list[str]:
    """Return the keys of the scheme with this id and creation time, in scheme order (cached)."""
    key = (scheme_id, created)
    cached = _dimension_keys.get(key)
    now = time.monotonic()
    if cached is None or now - cached[0] > DIMENSION_KEYS_TTL:
        keys = ValueDimension.objects.filter(scheme_id=scheme_id).order_by("position", "pk")
        cached = (now, list(keys.values_list("key", flat=True)))
        _dimension_keys[key] = cached
    return list(cached[1])


# The common case of ``worker_may_label`` for the annotate loop's one-statement reads: a
# participant of the project's own study (parameter: the user's id; ``project`` is the project's
# row). Where it says no, ``worker_may_label`` decides; tests/annotation/test_loop_rules.py holds
# it to never admitting anyone ``worker_may_label`` refuses.
OWN_STUDY_MEMBER_SQL = """EXISTS (SELECT 1 FROM {participation} AS member
               WHERE member.study_id = project.study_id AND member.user_id = %s)"""


def worker_may_label(*, project: Project, user: User) -> bool:
    """Return whether ``user`` may label ``project``: its study's participants (any participant
    when it has no study), and researchers trying it out."""
    if user.is_researcher:
        return True
    if project.study_id is None:
        return True
    # The project's own study, or any study whose labelling task names this project.
    return Participation.objects.filter(
        Q(study_id=project.study_id)
        | Q(study__tasks__kind="annotation.label", study__tasks__config__project=project.pk),
        user=user,
    ).exists()


def worker_may_label_with_membership(
    *, user: User, project_id: int, study_id: int | None, own_study_member: bool
) -> bool:
    """Return ``worker_may_label`` for a user whose membership of the project's own study was
    read with ``OWN_STUDY_MEMBER_SQL``: a member may, anyone else as the full rule says."""
    if own_study_member:
        return True
    return worker_may_label(project=Project(pk=project_id, study_id=study_id), user=user)


def slot_shows_prelabel(*, slot: Slot) -> bool:
    """Return whether the worker holding ``slot`` is shown the item's pre-label."""
    return not slot.blind and slot.item.kind != "attention"


def slot_prelabel(*, slot: Slot) -> Prelabel | None:
    """Return the pre-label the worker holding ``slot`` sees, or None (none, or blind)."""
    if not slot_shows_prelabel(slot=slot):
        return None
    try:
        return slot.item.prelabel  # loaded with the slot by the assignment's queries
    except Prelabel.DoesNotExist:
        return None


def leased_item_payload(*, slot: Slot, project: Project) -> dict:
    """Return the API's view of a leased item (contracts: the annotate loop)."""
    item = slot.item
    prelabel = slot_prelabel(slot=slot)
    return {
        "id": item.pk,
        # Gold items and attention checks look like any other item: telling them apart
        # would let a worker game the checks. Only practice items say what they are.
        "kind": "training" if item.kind == "training" else "task",
        "prompt": item.prompt,
        "response": item.response,
        "prelabel": (
            {
                "labels": prelabel.labels,
                "rationale": prelabel.rationale,
                "rationales": prelabel.rationales,
            }
            if prelabel
            else None
        ),
        "dimensions": scheme_dimension_keys(scheme=project.scheme),
        "lease_expires": slot.lease_expires,
    }


def project_dimension_rows(*, project: Project) -> list[ValueDimension]:
    """Return the scheme's dimensions in order, for the labelling page."""
    return list(project.scheme.dimensions.order_by("position", "pk"))


def worker_quality_rows(*, project: Project) -> list[dict]:
    """Return one row per worker: state, counts, flags by kind and gold accuracy."""
    accuracy = gold_accuracy_by_worker(project=project)
    flags: dict[int, dict[str, int]] = {}
    for worker_id, kind, n in (
        QualityFlag.objects.filter(project=project)
        .values_list("worker_id", "kind")
        .annotate(n=Count("pk"))
    ):
        flags.setdefault(worker_id, {})[kind] = n
    rows = []
    for status in WorkerStatus.objects.filter(project=project).select_related("worker"):
        gold = accuracy.get(status.worker_id)
        rows.append(
            {
                "worker": status.worker.pseudonym,
                "state": status.state,
                "n_done": status.n_done,
                "n_gold": status.n_gold,
                "n_attention": status.n_attention,
                "n_flags": status.n_flags,
                "flags": flags.get(status.worker_id, {}),
                "gold_accuracy": gold["accuracy"] if gold else None,
                "gold_accuracy_ci": gold["accuracy_ci"] if gold else None,
                "gold_accuracy_by_dimension": gold["dimensions"] if gold else None,
            }
        )
    return rows


def worker_median_seconds(*, project: Project) -> dict[str, float]:
    """Return each worker's median seconds per item on the project's items to label.

    Keyed by pseudonym; excluded annotations count too, so an excluded worker keeps their figure.
    """
    spent: dict[int, list[float]] = defaultdict(list)
    # Ids here and the pseudonyms in a second query: joining the users into this scan of every
    # annotation made PostgreSQL pick a plan 50 times slower on freshly loaded tables.
    rows = Annotation.objects.filter(item__project=project, item__kind="task").values_list(
        "annotator_id", "seconds"
    )
    for worker_id, seconds in rows.iterator(chunk_size=10000):
        spent[worker_id].append(seconds)
    names = dict(User.objects.filter(pk__in=list(spent)).values_list("pk", "pseudonym"))
    return {names[worker_id]: statistics.median(values) for worker_id, values in spent.items()}


def worker_page_rows(*, project: Project) -> list[dict]:
    """Return the researcher's workers table: ``worker_quality_rows`` with median seconds and
    the flags as ``(label, count)`` pairs, most items done first."""
    medians = worker_median_seconds(project=project)
    labels = dict(QualityFlag.Kind.choices)
    rows = worker_quality_rows(project=project)
    for row in rows:
        row["median_seconds"] = medians.get(row["worker"])
        row["flag_list"] = [(labels.get(kind, kind), n) for kind, n in sorted(row["flags"].items())]
    return sorted(rows, key=lambda row: (-row["n_done"], row["worker"]))
