"""Training a value evaluator: from a file or an annotation project, started as a job."""

import json
import uuid
from collections import Counter
from pathlib import Path

from django.core.exceptions import ValidationError

from annotation.selectors import project_export_lines
from core.jobs import job_start
from core.jsonl import jsonl_write
from core.models import Job, User
from training import conditioned, evaluator, labelled_data
from training.models import ModelArtifact
from training.schemes import scheme_definitions, scheme_dimensions
from training.services.common import ProgressCallback, error_text, policy_check, training_dir

TRAIN_EVALUATOR = "training.train_evaluator"


# The first is the default: bench/bench_evaluator_sweep.py chose it (evaluator.TrainConfig).
DESIGNS = ("frozen-encoder", "one-pass", "value-conditioned")
DEFAULT_DESIGN = DESIGNS[0]


def evaluator_train(
    *,
    data: str | Path,
    base_model: str,
    out: str | Path,
    scheme: str = "schwartz10",
    epochs: int | None = None,
    batch_size: int = 16,
    max_length: int = 256,
    max_steps: int | None = None,
    seed: int = 13,
    design: str = DEFAULT_DESIGN,
    skip_invalid: bool = False,
    job: Job | None = None,
    progress: ProgressCallback | None = None,
) -> ModelArtifact:
    """Train an evaluator (``design``: the head alone on a frozen encoder, the default; one-pass
    fine-tuning; or value-conditioned) on ``data``, write it to ``out`` and register it.
    ``epochs`` None: the design's default (60 head epochs on a frozen encoder, else 4 or 2).

    ``data`` is read as an import reads it (an annotation export, the import shape, FULCRA):
    a file with bad lines is refused listing every one, unless ``skip_invalid``; unlabelled
    items are left out. Refuses before training (ValidationError naming the problem) when the
    data cannot be read or trained on; registers nothing unless the model was written
    completely. The card's ``dataset`` says where each example's labels came from.
    """
    try:
        base_folder = policy_check(base_model)
    except ValidationError as error:
        raise ValidationError(
            {"base_model": f"cannot load base model {base_model!r}: {error_text(error)}"}
        ) from None
    try:
        dimensions = scheme_dimensions(scheme)
        read = labelled_data.read_labelled(data, dimensions=dimensions, skip_invalid=skip_invalid)
        examples = read.examples
        labelled_data.check_trainable(examples, dimensions=dimensions)
    except (OSError, ValueError) as error:
        raise ValidationError({"data": str(error)}) from None
    if Path(out).exists():
        raise ValidationError({"out": f"{out} exists already; choose another folder"})
    splits = labelled_data.split_by_prompt(examples, dimensions=dimensions, seed=seed)
    if design not in DESIGNS:
        raise ValidationError({"design": f"use one of {', '.join(DESIGNS)}"})
    common = dict(
        base_model=base_folder,
        dimensions=dimensions,
        scheme=scheme,
        batch_size=batch_size,
        max_length=max_length,
        max_steps=max_steps,
        seed=seed,
    ) | ({"epochs": epochs} if epochs else {})
    if design == "value-conditioned":
        config = conditioned.ConditionedConfig(**common, definitions=scheme_definitions(scheme))
        trainer, saver = conditioned.train, conditioned.save
    else:
        fine_tune = evaluator.FINE_TUNE if design == "one-pass" else {}
        config = evaluator.TrainConfig(**(fine_tune | common))
        trainer, saver = evaluator.train, evaluator.save
    try:
        model, tokenizer, report = trainer(splits, config, progress=progress)
        path = saver(
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
                **_dataset_sources(read, splits),
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


def _dataset_sources(read: labelled_data.ReadReport, splits: labelled_data.Splits) -> dict:
    """Return what the card says of the data read: lines skipped, unlabelled items left out,
    and where each example's labels came from (human, reference or the file)."""
    by_split = {
        name: dict(sorted(Counter(example.source for example in part).items()))
        for name, part in (
            ("train", splits.train),
            ("validation", splits.validation),
            ("test", splits.test),
        )
    }
    example_sources: dict[str, list[str]] = {}
    for example in read.examples:
        example_sources.setdefault(example.source, []).append(example.id)
    return {
        "lines": read.lines,
        "skipped_lines": read.errors,
        "unlabelled": read.unlabelled,
        "sources": read.sources(),
        "sources_by_split": by_split,
        "example_sources": example_sources,
    }


def project_training_file(*, project, path: Path) -> dict:
    """Write the project's annotation export as training JSONL; return what was kept.

    An item counts with its aggregated labels once someone labelled it, else with its imported
    reference labels (``vector`` then follows them, in scheme order); items with neither are
    left out (their all-0 "labels" mean nothing). The file appears complete or not at all.
    """
    keys = project.scheme.dimension_keys()
    skipped = 0

    def kept_records():
        nonlocal skipped
        for line in project_export_lines(project=project):
            record = json.loads(line)
            if record["n_annotations"] == 0:
                if not record.get("reference"):
                    skipped += 1
                    continue
                record["labels"] = record["reference"]
                record["vector"] = [record["labels"][key] for key in keys]
            yield record

    kept = jsonl_write(path, kept_records())
    return {"items": kept, "unlabelled": skipped}


def evaluator_train_start(
    *,
    created_by: User | None,
    name: str,
    base_model: str,
    data_file: Path | None = None,
    project=None,
    scheme: str = "schwartz10",
    epochs: int | None = None,
    batch_size: int = 16,
    max_steps: int | None = None,
    design: str = DEFAULT_DESIGN,
    skip_invalid: bool = False,
    source: dict | None = None,
    idempotency_key: str | None = None,
) -> Job:
    """Start the ``training.train_evaluator`` job; refuse a base model that is not there.

    Trains on ``data_file``, or on an annotation ``project`` (its scheme): the job itself
    writes the project's training file, into a path of its own, so nothing is written on the
    request and a repeated submit never touches a file a queued job reads.
    Bad data lines are the job's to find and name (it reads the whole file before training).
    """
    if (data_file is None) == (project is None):
        raise ValidationError({"data": "Give a data file or an annotation project (one)."})
    run_id = uuid.uuid4().hex[:8]
    if project is not None:
        scheme = project.scheme.key
        source = {"project": project.slug} | (source or {})
        data_file = training_dir("uploads", "projects") / f"{name}-{run_id}.jsonl"
    try:
        scheme_dimensions(scheme)
    except ValueError as error:
        raise ValidationError({"scheme": str(error)}) from None
    if design not in DESIGNS:
        raise ValidationError({"design": f"use one of {', '.join(DESIGNS)}"})
    try:
        policy_check(base_model)
    except ValidationError as error:
        raise ValidationError({"base_model": error_text(error)}) from None
    return job_start(
        kind=TRAIN_EVALUATOR,
        created_by=created_by,
        idempotency_key=idempotency_key,
        params={
            "data": str(data_file),
            "project": project.pk if project is not None else None,
            "source": source or {},
            "base_model": base_model,
            "out": str(training_dir("artifacts", "evaluators") / f"{name}-{run_id}"),
            "scheme": scheme,
            "epochs": epochs,
            "batch_size": batch_size,
            "max_steps": max_steps,
            "design": design,
            "skip_invalid": skip_invalid,
        },
    )
