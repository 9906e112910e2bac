"""Training workflows: the same code runs from a Celery job, the API and manage.py."""

from collections.abc import Callable
from pathlib import Path

from django.core.exceptions import ValidationError

from core.models import Job
from training import datasets, evaluator
from training.models import ModelArtifact
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
