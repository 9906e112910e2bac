"""Reads of evaluation: a run's responses and scores, profiles side by side."""

from collections import defaultdict
from collections.abc import Iterator

from django.db.models import QuerySet

from evaluation.models import ItemPool, PoolItem, Response, ResponseScore, Run, Subject


def run_responses(*, run: Run) -> QuerySet[Response]:
    """Return the subject's cached responses to the run's prompts under the run's settings."""
    hashes = PoolItem.objects.filter(pool_id=run.pool_id).values("prompt_hash")
    return Response.objects.filter(
        subject_id=run.subject_id, settings_hash=run.settings_hash, prompt_hash__in=hashes
    )


def run_scores(*, run: Run) -> tuple[list[dict], list[str]]:
    """Return ([{"response", "labels", "expected"}, …], dimensions) of the run's scored responses.

    Only responses scored on every value count (a half-written batch never enters a profile).
    """
    rows = ResponseScore.objects.filter(
        evaluator_path=run.evaluator_path,
        response__in=run_responses(run=run).filter(status=Response.Status.OK),
    ).values_list("response_id", "value", "label", "expected")
    by_response: dict[int, dict] = defaultdict(lambda: {"labels": {}, "expected": {}})
    for response_id, value, label, expected in rows.iterator(chunk_size=5000):
        entry = by_response[response_id]
        entry["labels"][value] = label
        entry["expected"][value] = expected
    dimensions = run_dimensions(run)
    scores = [
        {"response": pk, **entry}
        for pk, entry in sorted(by_response.items())
        if len(entry["labels"]) == len(dimensions)
    ]
    return scores, dimensions


def run_dimensions(run: Run) -> list[str]:
    if run.profile.get("dimensions"):
        return list(run.profile["dimensions"])
    from evaluation.services.scoring import evaluator_card

    return list(evaluator_card(run.evaluator_path)["dimensions"])


def runs_list() -> QuerySet[Run]:
    return Run.objects.select_related("subject", "pool", "evaluator", "job")


def runs_done(*, evaluator_path: str | None = None) -> QuerySet[Run]:
    """Return finished runs (newest first), of one evaluator if given."""
    runs = runs_list().filter(status=Run.Status.DONE)
    return runs.filter(evaluator_path=evaluator_path) if evaluator_path else runs


def subjects_list() -> QuerySet[Subject]:
    return Subject.objects.all()


def pools_list() -> QuerySet[ItemPool]:
    from django.db.models import Count

    return ItemPool.objects.annotate(n_items=Count("items"))


def responses_behind(
    *, run: Run, value: str | None = None, label: int | None = None
) -> QuerySet[Response]:
    """Return the run's responses, those labelled ``label`` on ``value`` when both are given."""
    responses = run_responses(run=run).order_by("pk")
    if value and label is not None:
        responses = responses.filter(
            scores__evaluator_path=run.evaluator_path, scores__value=value, scores__label=label
        )
    return responses


def response_labels(*, run: Run, response_ids: list[int]) -> dict[int, dict]:
    """Return {response id: {value: {"label", "expected"}}} under the run's evaluator."""
    labels: dict[int, dict] = defaultdict(dict)
    rows = ResponseScore.objects.filter(
        evaluator_path=run.evaluator_path, response_id__in=response_ids
    ).values_list("response_id", "value", "label", "expected")
    for response_id, value, label, expected in rows:
        labels[response_id][value] = {"label": label, "expected": expected}
    return labels


def response_labels_by_id(*, evaluator_path: str, ids: list[int]) -> dict[int, dict]:
    """Return {response id: {"labels", "expected"}} of the responses scored on every value."""
    found: dict[int, dict] = defaultdict(lambda: {"labels": {}, "expected": {}})
    rows = ResponseScore.objects.filter(
        evaluator_path=evaluator_path, response_id__in=ids
    ).values_list("response_id", "value", "label", "expected")
    for response_id, value, label, expected in rows:
        found[response_id]["labels"][value] = label
        found[response_id]["expected"][value] = expected
    sizes = {len(entry["labels"]) for entry in found.values()}
    full = max(sizes) if sizes else 0
    return {pk: entry for pk, entry in found.items() if len(entry["labels"]) == full}


def evolve_jobs_recent(*, limit: int = 10):
    """Return the latest evolve jobs (running first), for their progress on the evolve page."""
    from django.db.models import Case, IntegerField, Value, When

    from core.models import Job
    from evaluation.services.evolving import EVOLVE_JOB

    finished = Case(
        When(status__in=Job.FINISHED, then=Value(1)), default=Value(0), output_field=IntegerField()
    )
    return Job.objects.filter(kind=EVOLVE_JOB).order_by(finished, "-created")[:limit]


# --- what the pages show ------------------------------------------------------------------------


def profile_chart(runs: list[Run]) -> dict:
    """Return the chart spec of the runs' profiles (mean expected label per value)."""
    dimensions = run_dimensions(runs[0]) if runs else []
    return {
        "type": "hbar",
        "labels": dimensions,
        "min": -1,
        "max": 1,
        "x": "mean expected label (−1 violates … +1 upholds)",
        "series": [
            {
                "label": f"{run.subject.name} (n={run.profile.get('n', 0)})",
                "values": [run.profile["values"][key]["mean"] for key in dimensions],
            }
            for run in runs
        ],
    }


def profile_rows(run: Run) -> list[dict]:
    """Return the run's profile as one row per value: ``{"value", "mean", "ci", …}``."""
    return [{"value": key, **run.profile["values"][key]} for key in run_dimensions(run)]


def runs_to_compare(*, run_ids: list[str]) -> tuple[list[Run], str]:
    """Return the chosen finished runs in the order chosen, and why they cannot be compared
    ("" when they can: their evaluators score the same value scheme)."""
    runs = list(runs_done().filter(pk__in=run_ids)) if run_ids else []
    runs.sort(key=lambda run: run_ids.index(str(run.pk)))
    schemes = {run.scheme for run in runs}
    error = "These runs use evaluators of different value schemes." if len(schemes) > 1 else ""
    return runs, error


def profiles_side_by_side(runs: list[Run]) -> list[dict]:
    """Return one row per value of the runs' profiles: ``{"value", "cells": [entry per run]}``."""
    dimensions = run_dimensions(runs[0]) if runs else []
    return [
        {"value": key, "cells": [run.profile["values"][key] for run in runs]} for key in dimensions
    ]


def run_export_records(run: Run) -> Iterator[dict]:
    """Return the run's responses with their labels and expected labels, read 500 at a time as
    they are iterated (the evaluator's values are known before the first)."""
    return _export_records(run, run_dimensions(run))


def _export_records(run: Run, dimensions: list[str]) -> Iterator[dict]:
    responses = run_responses(run=run).order_by("pk")
    for start in range(0, responses.count(), 500):
        chunk = list(responses[start : start + 500])
        labels = response_labels(run=run, response_ids=[r.pk for r in chunk])
        for response in chunk:
            scored = labels.get(response.pk)
            yield {
                "subject": run.subject.name,
                "prompt": response.prompt,
                "response": response.text,
                "status": response.status,
                "error": response.error or None,
                "evaluator": run.evaluator_name,
                "labels": {k: scored[k]["label"] for k in dimensions} if scored else None,
                "expected": {k: scored[k]["expected"] for k in dimensions} if scored else None,
            }


PROFILE_CSV_HEADER = [
    *["run", "subject", "pool", "evaluator", "value", "mean", "ci_low", "ci_high"],
    *["upholds", "violates", "n"],
]


def profiles_csv_rows(*, run_ids: list[str]) -> Iterator[list]:
    """Yield a row per run and value of the chosen runs' profiles (all finished runs if none)."""
    runs = runs_done()
    if run_ids:
        runs = runs.filter(pk__in=run_ids)
    for run in runs:
        for key in run_dimensions(run):
            entry = run.profile["values"][key]
            yield (
                [run.pk, run.subject.name, str(run.pool), run.evaluator_name, key]
                + [entry["mean"], entry["ci"][0], entry["ci"][1]]
                + [entry["upholds"], entry["violates"], run.profile["n"]]
            )


def evolved_pools(*, limit: int = 20) -> list[tuple[ItemPool, list[PoolItem]]]:
    """Return the latest pools evolving items made, each with its items in order."""
    generated = ItemPool.objects.filter(provenance=ItemPool.Provenance.GENERATED).select_related(
        "parent"
    )[:limit]
    items = PoolItem.objects.filter(pool__in=list(generated)).order_by("pool", "position")
    by_pool: dict[int, list] = {}
    for item in items:
        by_pool.setdefault(item.pool_id, []).append(item)
    return [(pool, by_pool.get(pool.pk, [])) for pool in generated]
