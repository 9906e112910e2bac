"""Writes and workflows of training, one module per workflow; every name imports from here.

- ``evaluator_training``: train a value evaluator (from a file or an annotation project).
- ``policy_alignment``: align a policy to a value target (BaseAlign).
- ``project_scoring``: pre-label an annotation project with an evaluator.
- ``preference_data``: DPO pairs from the moral graph's preferences.
- ``value_targets``: targets typed in, and participants' PVQ-40 profiles.
- ``run_logs``, ``uploads``, ``common``: what the workflows share.

Each workflow's job kind lives beside its starter; ``training.jobs`` runs them.
"""

from training.services.common import (
    ProgressCallback,
    error_text,
    policy_check,
    training_dir,
)
from training.services.evaluator_training import (
    DEFAULT_DESIGN,
    DESIGNS,
    TRAIN_EVALUATOR,
    evaluator_train,
    evaluator_train_start,
    project_training_file,
)
from training.services.policy_alignment import (
    ALIGN_POLICY,
    alignment_run,
    alignment_start,
    prompts_write,
)
from training.services.preference_data import (
    EXPORT_DPO,
    dpo_export,
    dpo_export_start,
)
from training.services.project_scoring import (
    EVALUATOR_PROMPT_VERSION,
    SCORE_PROJECT,
    evaluator_labeller,
    project_items_to_score,
    project_score,
    project_score_check,
    project_score_start,
)
from training.services.run_logs import (
    run_log_append,
)
from training.services.uploads import (
    job_start_with_file,
    save_upload,
    upload_discard_unless_kept,
)
from training.services.value_targets import (
    pvq_items_path,
    target_create,
    target_from_pvq,
)

__all__ = [
    "job_start_with_file",
    "ProgressCallback",
    "error_text",
    "training_dir",
    "policy_check",
    "save_upload",
    "upload_discard_unless_kept",
    "TRAIN_EVALUATOR",
    "DEFAULT_DESIGN",
    "DESIGNS",
    "evaluator_train",
    "project_training_file",
    "evaluator_train_start",
    "pvq_items_path",
    "target_create",
    "target_from_pvq",
    "run_log_append",
    "ALIGN_POLICY",
    "prompts_write",
    "alignment_start",
    "alignment_run",
    "SCORE_PROJECT",
    "EVALUATOR_PROMPT_VERSION",
    "evaluator_labeller",
    "project_score_check",
    "project_items_to_score",
    "project_score",
    "project_score_start",
    "EXPORT_DPO",
    "dpo_export",
    "dpo_export_start",
]
