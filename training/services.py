"""Training workflows: the same code runs from a Celery job, the API and manage.py."""

from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from core.models import Job, User
from training import datasets, evaluator, pvq, targets
from training.models import ModelArtifact, RunLog, Target
from training.schemes import scheme_dimensions

ProgressCallback = Callable[[int, int, str, dict], None]


def evaluator_train(
    *,
    data: str | Path,
    base_model: str,
    out: str | Path,
    scheme: str = "schwartz10",
    epochs: int = 4,
    batch_size: int = 16,
    max_length: int = 256,
    max_steps: int | None = None,
    seed: int = 13,
    job: Job | None = None,
    progress: ProgressCallback | None = None,
) -> ModelArtifact:
    """Train a one-pass evaluator on ``data``, write it to ``out`` and register it.

    Refuses before training (ValidationError naming the problem) when the data cannot be read
    or trained on; registers nothing unless the model was written completely.
    """
    try:
        dimensions = scheme_dimensions(scheme)
        examples = datasets.read_examples(data, dimensions=dimensions)
        datasets.check_trainable(examples, dimensions=dimensions)
    except (OSError, ValueError) as error:
        raise ValidationError({"data": str(error)}) from None
    if Path(out).exists():
        raise ValidationError({"out": f"{out} exists already; choose another folder"})
    splits = datasets.split_by_prompt(examples, dimensions=dimensions, seed=seed)
    config = evaluator.TrainConfig(
        base_model=base_model,
        dimensions=dimensions,
        scheme=scheme,
        epochs=epochs,
        batch_size=batch_size,
        max_length=max_length,
        max_steps=max_steps,
        seed=seed,
    )
    try:
        model, tokenizer, report = evaluator.train(splits, config, progress=progress)
        path = evaluator.save(
            model,
            tokenizer,
            out,
            config=config,
            report=report,
            dataset={
                "file": str(data),
                "content_hash": splits.content_hash,
                "split_seed": seed,
                "sizes": splits.sizes,
            },
        )
    except evaluator.EvaluatorError as error:
        raise ValidationError({"base_model": str(error)}) from None
    card = evaluator.load_card(path)
    return ModelArtifact.objects.create(
        kind=ModelArtifact.Kind.EVALUATOR,
        name=Path(path).name,
        path=str(Path(path).resolve()),
        scheme=scheme,
        base_model=base_model,
        dataset_hash=splits.content_hash,
        card=card,
        job=job,
    )


# --- Targets -------------------------------------------------------------------------------------


def pvq_items_path() -> Path:
    """Return where the PVQ-40 item texts are read from (setting ``TRAINING_PVQ40_ITEMS``)."""
    default = Path(settings.BASE_DIR).parent / "shared" / "data" / "pvq40" / "pvq40_items.csv"
    return Path(getattr(settings, "TRAINING_PVQ40_ITEMS", None) or default)


def target_create(
    *,
    owner: User,
    name: str,
    kind: str,
    vector: dict,
    scheme: str = "schwartz10",
    details: dict | None = None,
) -> Target:
    """Store a target after checking it covers every dimension with a number in [-1, 1].

    Saving under a name the owner already used replaces that target's vector.
    """
    if kind == Target.Kind.INDIVIDUAL:
        raise ValidationError({"kind": "An individual target comes from the PVQ-40 page."})
    try:
        clean = targets.validate_vector(vector, scheme_dimensions(scheme))
    except (targets.TargetError, ValueError) as error:
        raise ValidationError({"vector": str(error)}) from None
    name = name.strip()
    Target(owner=owner, name=name, kind=kind, scheme=scheme, vector=clean).full_clean(
        exclude=["owner"]
    )
    # Saving under a name the owner used before replaces it: a double click stores one target.
    target, _created = Target.objects.update_or_create(
        owner=owner,
        name=name,
        scheme=scheme,
        defaults={"kind": kind, "vector": clean, "details": details or {}},
    )
    return target


def target_from_pvq(*, owner: User, answers: dict, scheme: str = "schwartz10") -> Target:
    """Score the participant's PVQ-40 answers and store them as their own target.

    Answering again replaces their earlier profile (one individual target per person).
    """
    try:
        profile = pvq.score(answers, scheme_dimensions(scheme))
    except pvq.PVQError as error:
        raise ValidationError({"answers": str(error)}) from None
    details = {
        "instrument": "PVQ-40",
        "answers": {str(k): int(v) for k, v in sorted(pvq.check_answers(answers).items())},
        "raw": profile.raw,
        "centred": profile.centred,
        "mean_rating": profile.mean_rating,
        "scaling": "centred score / largest absolute centred score",
    }
    target, _created = Target.objects.update_or_create(
        owner=owner,
        scheme=scheme,
        kind=Target.Kind.INDIVIDUAL,
        defaults={
            "name": f"Profile of {owner.pseudonym or owner.username}",
            "vector": profile.target,
            "details": details,
        },
    )
    return target


# --- Run logs ------------------------------------------------------------------------------------


def run_log_append(*, job: Job, metrics: dict | None = None, line: str | None = None) -> None:
    """Add a metrics row and/or a log line to the job's run log (created on first use)."""
    with transaction.atomic():
        log, _created = RunLog.objects.select_for_update().get_or_create(job=job)
        if metrics is not None:
            log.metrics = [*log.metrics, metrics]
        if line is not None:
            log.lines = [*log.lines, line][-500:]
        log.save(update_fields=["metrics", "lines", "updated"])
