"""Writes and workflows of evaluation, a module per workflow; every name imports from here too.

- ``subjects``: the models profiled;
- ``item_pools``: versions of prompts, from a file or an annotation project;
- ``scoring``: the evaluator (its card, loaded once per process), targets, scoring answers;
- ``runs``: a profile run (generate → score → profile), starting, cancelling, resuming it;
- ``evolving``: starting and cancelling the evolving-items job.
"""

from evaluation.services.evolving import EVOLVE_JOB, evolve_cancel, evolve_start
from evaluation.services.item_pools import pool_from_project, pool_import, pool_store
from evaluation.services.runs import (
    MAX_ATTEMPTS,
    PROGRESS_SECONDS,
    RUN_JOB,
    Progress,
    RunPaused,
    response_store,
    run_alignment,
    run_cancel,
    run_create,
    run_execute,
    run_mark_stopped,
    run_start,
    run_target_alignment,
    runs_by_alignment,
)
from evaluation.services.scoring import (
    SCORE_BATCH,
    evaluator_card,
    evaluator_loaded,
    responses_score,
    target_vector,
)
from evaluation.services.subjects import (
    MAX_CONCURRENCY,
    subject_create,
    subjects_for_alignment,
    subjects_for_new_policies,
)

__all__ = [
    "EVOLVE_JOB",
    "MAX_ATTEMPTS",
    "MAX_CONCURRENCY",
    "PROGRESS_SECONDS",
    "Progress",
    "RUN_JOB",
    "RunPaused",
    "SCORE_BATCH",
    "evaluator_card",
    "evaluator_loaded",
    "evolve_cancel",
    "evolve_start",
    "pool_from_project",
    "pool_import",
    "pool_store",
    "response_store",
    "responses_score",
    "run_alignment",
    "run_cancel",
    "run_create",
    "run_execute",
    "run_mark_stopped",
    "run_start",
    "run_target_alignment",
    "runs_by_alignment",
    "subject_create",
    "subjects_for_alignment",
    "subjects_for_new_policies",
    "target_vector",
]
