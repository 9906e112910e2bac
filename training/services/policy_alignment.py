"""Aligning a policy to a value target (BaseAlign, GRPO), started as a job."""

import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError

from core.jobs import job_start
from core.jsonl import jsonl_write
from core.models import Job, User
from training import alignment, evaluator, labelled_data, targets
from training.alignment import DEFAULTS as ALIGN_DEFAULTS
from training.models import ModelArtifact, Target
from training.services.common import ProgressCallback, policy_check, training_dir

ALIGN_POLICY = "training.align_policy"
# What a researcher may set for a run (AlignConfig's fields): one list for the job's params, the
# job, the command and the API, each absent one taking AlignConfig's default.
RUN_SETTINGS = (
    "steps",
    "num_generations",
    "max_completion_length",
    "learning_rate",
    "temperature",
    "beta",
    "distance",
    "guard",
    "lora",
    "report_prompts",
)


def run_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """Return the run settings of ``values``, AlignConfig's default for each one not there.

    Raise TypeError for a name that is not a run setting (a caller's mistake, as for any
    unknown keyword)."""
    unknown = set(values) - set(RUN_SETTINGS)
    if unknown:
        raise TypeError(f"not alignment settings: {', '.join(sorted(unknown))}")
    return {name: values.get(name, getattr(ALIGN_DEFAULTS, name)) for name in RUN_SETTINGS}


def prompts_write(*, prompts: list[str], path: Path) -> Path:
    """Write prompts as JSONL ({"prompt": …} a line), each distinct prompt once, in order."""
    seen: dict[str, None] = dict.fromkeys(p for p in prompts if p.strip())
    jsonl_write(path, ({"prompt": prompt} for prompt in seen))
    return path


def alignment_start(
    *,
    created_by: User | None,
    evaluator_artifact: ModelArtifact,
    policy: str,
    target: Target,
    prompts_file: Path,
    name: str,
    idempotency_key: str | None = None,
    **settings: Any,
) -> Job:
    """Check everything the alignment needs, then start the ``training.align_policy`` job.

    Refuses (ValidationError naming the field) a target missing a dimension, a policy that is
    not there, or prompts that are empty or unreadable: nothing is started then. ``settings``
    are the run's (``RUN_SETTINGS``; AlignConfig's default for each one not given).
    """
    settings = run_settings(settings)
    if evaluator_artifact.kind != ModelArtifact.Kind.EVALUATOR:
        raise ValidationError({"evaluator": "Choose an evaluator, not a policy."})
    try:
        card = evaluator.load_card(evaluator_artifact.path)
    except (evaluator.EvaluatorError, OSError, ValueError) as error:
        raise ValidationError({"evaluator": str(error)}) from None
    try:
        vector = targets.validate_vector(target.vector, card["dimensions"])
    except targets.TargetError as error:
        raise ValidationError({"target": f"{target.name}: {error}"}) from None
    policy_check(policy)
    try:
        prompts = alignment.read_prompts(prompts_file)
    except (alignment.AlignmentError, OSError, UnicodeDecodeError) as error:
        raise ValidationError({"prompts": str(error)}) from None
    if len(set(prompts)) < 2:
        raise ValidationError({"prompts": "give at least two different prompts"})
    if settings["distance"] not in alignment.DISTANCES:
        raise ValidationError({"distance": f"use one of {', '.join(alignment.DISTANCES)}"})
    if settings["guard"] not in alignment.GUARDS:
        raise ValidationError({"guard": f"use one of {', '.join(alignment.GUARDS)}"})
    run_id = uuid.uuid4().hex[:8]
    out = training_dir("artifacts", "policies") / f"{name}-{run_id}"
    return job_start(
        kind=ALIGN_POLICY,
        created_by=created_by,
        idempotency_key=idempotency_key,
        params={
            "evaluator": evaluator_artifact.path,
            "evaluator_artifact": evaluator_artifact.pk,
            "policy": policy,
            "prompts": str(prompts_file),
            "n_prompts": len(prompts),
            "target": vector,
            "target_id": target.pk,
            "target_name": target.name,
            "out": str(out),
        }
        | settings,
    )


def alignment_run(
    *,
    evaluator_dir: str | Path,
    policy: str,
    prompts_file: str | Path,
    target: dict,
    out: str | Path,
    job: Job | None = None,
    progress: ProgressCallback | None = None,
    **settings: Any,
) -> ModelArtifact | None:
    """Align ``policy`` to ``target`` with GRPO, write it to ``out`` atomically, register it.

    The code path of the ``align_policy`` command and the ``training.align_policy`` job.
    Raises ValidationError naming the problem; registers nothing unless the policy was
    written completely.
    """
    try:
        loaded = evaluator.load(evaluator_dir)
        vector = alignment.read_target(target, loaded.dimensions)
        prompts = alignment.read_prompts(prompts_file)
        config = alignment.AlignConfig(policy=policy_check(policy), **run_settings(settings))
        report = alignment.align(
            evaluator=loaded,
            target=vector,
            prompts=prompts,
            out=out,
            config=config,
            progress=progress,
        )
    except (evaluator.EvaluatorError, alignment.AlignmentError, OSError) as error:
        raise ValidationError({"alignment": str(error)}) from None
    if not report.written:
        return None  # not the main process of a multi-GPU run: it registers the model
    card = _without_nul(json.loads((Path(out) / alignment.POLICY_CARD).read_text()))
    card["prompts"] = {"file": str(prompts_file), "n": len(prompts)}
    return ModelArtifact.objects.create(
        kind=ModelArtifact.Kind.POLICY,
        name=Path(out).name,
        path=str(Path(out).resolve()),
        scheme=loaded.card.get("scheme", ""),
        base_model=policy,
        dataset_hash=labelled_data.content_hash(
            [labelled_data.Example(id="", prompt=p, response="", labels={}) for p in prompts], []
        ),
        card=card,
        job=job,
    )


def _without_nul(value):
    """Return ``value`` with NUL characters dropped from its strings.

    A policy can generate U+0000 in its samples; PostgreSQL's jsonb refuses it.
    """
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {key: _without_nul(item) for key, item in value.items()}
    return value
