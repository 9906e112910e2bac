"""Scoring answers with an evaluator: its card, loading it once, targets over its values."""

import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from django.core.exceptions import ValidationError

from evaluation.models import Response, ResponseScore
from evaluation.selectors import response_labels_by_id
from training import evaluator as evaluator_module
from training.targets import TargetError, normalise_key, validate_vector

SCORE_BATCH = 64


def evaluator_card(path: str) -> dict:
    """Return the card of the evaluator folder ``path``; ValidationError naming it if it is none."""
    try:
        return evaluator_module.load_card(path)
    except (evaluator_module.EvaluatorError, OSError, ValueError) as error:
        raise ValidationError({"evaluator": str(error)}) from None


_load_lock = threading.Lock()


@lru_cache(maxsize=2)
def _loaded(path: str):
    return evaluator_module.load(path)


def evaluator_loaded(path: str):
    """Return the evaluator in ``path``, loaded once per process."""
    with _load_lock:
        return _loaded(str(Path(path).resolve()))


def target_vector(data: object, *, scheme: str, dimensions: list[str]) -> dict[str, float]:
    """Return ``data`` as a target over the evaluator's values.

    A target of another value scheme than the evaluator's is refused, naming both.
    """
    target_scheme = data.get("scheme") if isinstance(data, dict) else None
    if target_scheme and normalise_key(target_scheme) != normalise_key(scheme):
        raise ValidationError(
            {
                "target": f"the target is of the value scheme {target_scheme!r} but the "
                f"evaluator scores {scheme!r}; use a target of {scheme!r}"
            }
        )
    try:
        return validate_vector(data, dimensions)
    except TargetError as error:
        raise ValidationError(
            {"target": f"{error} (the evaluator's scheme is {scheme!r})"}
        ) from None


def responses_score(
    *,
    evaluator_path: str,
    responses: list[Response],
    report: Callable[[int, int], None] | None = None,
) -> dict[int, dict]:
    """Score ``responses`` not yet scored by the evaluator (in batches); return
    {response id: {"labels", "expected"}} for all of them."""
    known = response_labels_by_id(evaluator_path=evaluator_path, ids=[r.pk for r in responses])
    todo = [r for r in responses if r.pk not in known]
    if todo:
        model = evaluator_loaded(evaluator_path)
        for start in range(0, len(todo), SCORE_BATCH):
            batch = todo[start : start + SCORE_BATCH]
            results = model.score([(r.prompt, r.text) for r in batch], batch_size=SCORE_BATCH)
            ResponseScore.objects.bulk_create(
                [
                    ResponseScore(
                        response=response,
                        evaluator_path=evaluator_path,
                        value=key,
                        label=result["labels"][key],
                        expected=result["expected"][key],
                    )
                    for response, result in zip(batch, results, strict=True)
                    for key in model.dimensions
                ],
                ignore_conflicts=True,
            )
            for response, result in zip(batch, results, strict=True):
                known[response.pk] = result
            if report:
                report(len(known), len(responses))
    return known
