"""Training workflows: the same code runs from a Celery job, the API and manage.py."""

import json
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from core.jsonl import jsonl_write
from core.models import Job, User
from training import evaluator, labelled_data, pvq, targets
from training.alignment import DEFAULTS as ALIGN_DEFAULTS
from training.models import ModelArtifact, RunLog, Target
from training.schemes import scheme_definitions, scheme_dimensions

DESIGNS = ("one-pass", "value-conditioned")

ProgressCallback = Callable[[int, int, str, dict], None]


def error_text(error: ValidationError) -> str:
    """Return a ValidationError's messages as one line of text, for a page, a job or a command."""
    return " ".join(error.messages)


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
    design: str = "one-pass",
    skip_invalid: bool = False,
    job: Job | None = None,
    progress: ProgressCallback | None = None,
) -> ModelArtifact:
    """Train an evaluator (``design`` one-pass or value-conditioned) on ``data``, write it to
    ``out`` and register it.

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
        epochs=epochs,
        batch_size=batch_size,
        max_length=max_length,
        max_steps=max_steps,
        seed=seed,
    )
    if design == "value-conditioned":
        from training import conditioned

        config = conditioned.ConditionedConfig(**common, definitions=scheme_definitions(scheme))
        trainer, saver = conditioned.train, conditioned.save
    else:
        config = evaluator.TrainConfig(**common)
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


def target_from_pvq(
    *, owner: User, answers: dict, scheme: str = "schwartz10", page_version: str = ""
) -> Target:
    """Score the participant's PVQ-40 answers and store them as their own target.

    Answering again replaces their earlier profile (one individual target per person).
    ``page_version`` names the PVQ-40 page the answers were given on ("" when not from a page).
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
        "page_version": page_version,
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


# --- Alignment (BaseAlign) -----------------------------------------------------------------------


def training_dir(*parts: str) -> Path:
    """Return (creating it) a folder under ``VAR_DIR`` for training's files."""
    folder = Path(settings.VAR_DIR).joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def policy_check(policy: str) -> str:
    """Return the folder (or reachable hub name) ``policy`` names: an alias of a shipped model
    (``minilm``, ``smollm2-135m``), a local model folder, or a hub model cached here or
    reachable now. Refuse anything else at once, listing the aliases."""
    from training.basemodels import ModelNotFound, resolve

    try:
        return resolve(policy)
    except ModelNotFound as error:
        raise ValidationError({"policy": str(error)}) from None


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
    steps: int = ALIGN_DEFAULTS.steps,
    num_generations: int = ALIGN_DEFAULTS.num_generations,
    max_completion_length: int = ALIGN_DEFAULTS.max_completion_length,
    learning_rate: float = ALIGN_DEFAULTS.learning_rate,
    temperature: float = ALIGN_DEFAULTS.temperature,
    beta: float = ALIGN_DEFAULTS.beta,
    distance: str = ALIGN_DEFAULTS.distance,
    guard: str = ALIGN_DEFAULTS.guard,
    lora: bool = True,
    report_prompts: int = ALIGN_DEFAULTS.report_prompts,
    idempotency_key: str | None = None,
) -> Job:
    """Check everything the alignment needs, then start the ``training.align_policy`` job.

    Refuses (ValidationError naming the field) a target missing a dimension, a policy that is
    not there, or prompts that are empty or unreadable: nothing is started then.
    """
    from core.jobs import job_start
    from training import alignment
    from training.jobs import ALIGN_POLICY

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
    if distance not in alignment.DISTANCES:
        raise ValidationError({"distance": f"use one of {', '.join(alignment.DISTANCES)}"})
    if guard not in alignment.GUARDS:
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
            "steps": steps,
            "num_generations": num_generations,
            "max_completion_length": max_completion_length,
            "learning_rate": learning_rate,
            "temperature": temperature,
            "beta": beta,
            "distance": distance,
            "guard": guard,
            "lora": lora,
            "report_prompts": report_prompts,
        },
    )


def alignment_run(
    *,
    evaluator_dir: str | Path,
    policy: str,
    prompts_file: str | Path,
    target: dict,
    out: str | Path,
    steps: int = ALIGN_DEFAULTS.steps,
    num_generations: int = ALIGN_DEFAULTS.num_generations,
    max_completion_length: int = ALIGN_DEFAULTS.max_completion_length,
    learning_rate: float = ALIGN_DEFAULTS.learning_rate,
    temperature: float = ALIGN_DEFAULTS.temperature,
    beta: float = ALIGN_DEFAULTS.beta,
    distance: str = ALIGN_DEFAULTS.distance,
    guard: str = ALIGN_DEFAULTS.guard,
    lora: bool = True,
    report_prompts: int = ALIGN_DEFAULTS.report_prompts,
    job: Job | None = None,
    progress: ProgressCallback | None = None,
) -> ModelArtifact | None:
    """Align ``policy`` to ``target`` with GRPO, write it to ``out`` atomically, register it.

    The code path of the ``align_policy`` command and the ``training.align_policy`` job.
    Raises ValidationError naming the problem; registers nothing unless the policy was
    written completely.
    """
    from training import alignment

    try:
        loaded = evaluator.load(evaluator_dir)
        vector = alignment.read_target(target, loaded.dimensions)
        prompts = alignment.read_prompts(prompts_file)
        config = alignment.AlignConfig(
            policy=policy_check(policy),
            steps=steps,
            num_generations=num_generations,
            max_completion_length=max_completion_length,
            learning_rate=learning_rate,
            temperature=temperature,
            beta=beta,
            distance=distance,
            guard=guard,
            lora=lora,
            report_prompts=report_prompts,
        )
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


# --- Scoring an annotation project (the evaluator as a pre-labeller) ------------------------------

EVALUATOR_PROMPT_VERSION = "evaluator/1"


def evaluator_labeller(artifact: ModelArtifact) -> str:
    """Return the Prelabel.labeller of ``artifact``'s labels: "evaluator:<artifact name>"."""
    return f"evaluator:{artifact.name}"[:100]


def project_score_check(*, artifact: ModelArtifact, project) -> list[str]:
    """Return the project's dimension keys; refuse a project the evaluator cannot label."""
    if artifact.kind != ModelArtifact.Kind.EVALUATOR:
        raise ValidationError({"evaluator": "Choose an evaluator, not a policy."})
    keys = project.scheme.dimension_keys()
    known = set(artifact.card.get("dimensions", []))
    missing = [key for key in keys if key not in known]
    if missing:
        raise ValidationError(
            {
                "evaluator": f"{artifact.name} does not score {', '.join(missing)} "
                f"(dimensions of {project.scheme.key})"
            }
        )
    return keys


def project_items_to_score(*, project, replace: bool = False):
    """Return the project's items that need an evaluator pre-label, in id order.

    Items with a pre-label are left alone, except that ``replace`` re-scores those an
    evaluator labelled (an LLM's pre-label is never overwritten).
    """
    from django.db.models import Q

    from annotation.models import Item

    keep = Q(prelabel__isnull=True)
    if replace:
        keep |= Q(prelabel__labeller__startswith="evaluator:")
    return Item.objects.filter(keep, project=project).order_by("pk")


def project_score(
    *,
    artifact: ModelArtifact,
    project,
    replace: bool = False,
    batch_size: int = 32,
    progress: ProgressCallback | None = None,
) -> dict:
    """Pre-label the project's items with the evaluator, batch by batch; return the counts.

    Each batch is written in one transaction, so a stopped job keeps whole batches and a
    second run picks up where it stopped; no item ever gets two pre-labels.
    """
    from annotation.models import Prelabel
    from training.selectors import evaluator_loaded

    keys = project_score_check(artifact=artifact, project=project)
    pending = list(
        project_items_to_score(project=project, replace=replace).values_list("pk", flat=True)
    )
    loaded = evaluator_loaded(artifact)
    labeller = evaluator_labeller(artifact)
    written = 0
    for start in range(0, len(pending), batch_size):
        ids = pending[start : start + batch_size]
        from annotation.models import Item

        items = list(
            Item.objects.filter(pk__in=ids).order_by("pk").values("pk", "prompt", "response")
        )
        scores = loaded.score([(i["prompt"], i["response"]) for i in items], batch_size=batch_size)
        with transaction.atomic():
            if replace:
                Prelabel.objects.filter(item_id__in=ids, labeller__startswith="evaluator:").delete()
            created = Prelabel.objects.bulk_create(
                [
                    Prelabel(
                        item_id=item["pk"],
                        labels={key: score["labels"][key] for key in keys},
                        rationale="",
                        rationales={},
                        labeller=labeller,
                        model=artifact.name[:200],
                        prompt_version=EVALUATOR_PROMPT_VERSION,
                    )
                    for item, score in zip(items, scores, strict=True)
                ],
                ignore_conflicts=True,  # an LLM pre-label that landed meanwhile is kept
            )
            written += len(created)
        if progress:
            progress(min(start + batch_size, len(pending)), len(pending), "scoring", {})
    return {"scored": len(pending), "skipped": project.items.count() - len(pending)}


def project_score_start(
    *,
    created_by: User | None,
    artifact: ModelArtifact,
    project,
    replace: bool = False,
    batch_size: int = 32,
    idempotency_key: str | None = None,
) -> Job:
    """Check the evaluator can label the project, then start the scoring job."""
    from core.jobs import job_start
    from training.jobs import SCORE_PROJECT

    project_score_check(artifact=artifact, project=project)
    return job_start(
        kind=SCORE_PROJECT,
        created_by=created_by,
        idempotency_key=idempotency_key,
        params={
            "artifact": artifact.pk,
            "project": project.pk,
            "replace": replace,
            "batch_size": batch_size,
        },
    )


# --- Starting evaluator training ------------------------------------------------------------------


def save_upload(upload, *, stem: str) -> Path:
    """Write an uploaded file, chunk by chunk, to a new JSONL under ``uploads``; return where."""
    path = training_dir("uploads") / f"{stem}-{uuid.uuid4().hex[:8]}.jsonl"
    with path.open("wb") as destination:
        for chunk in upload.chunks():
            destination.write(chunk)
    return path


def upload_discard_unless_kept(path: Path, job) -> None:
    """Remove a file saved for a job that did not keep it: refused, or a repeated request whose
    first job holds another copy. Call it whatever the start did (``finally``)."""
    kept = job is not None and str(path) in {str(value) for value in job.params.values()}
    if not kept:
        path.unlink(missing_ok=True)


def project_training_file(*, project, path: Path) -> dict:
    """Write the project's annotation export as training JSONL; return what was kept.

    An item counts with its aggregated labels once someone labelled it, else with its imported
    reference labels (``vector`` then follows them, in scheme order); items with neither are
    left out (their all-0 "labels" mean nothing). The file appears complete or not at all.
    """
    from annotation.selectors import project_export_lines

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
    epochs: int = 4,
    batch_size: int = 16,
    max_steps: int | None = None,
    design: str = "one-pass",
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
    from core.jobs import job_start
    from training.jobs import TRAIN_EVALUATOR

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


# --- DPO preference data from the moral graph ---------------------------------------------------


def _questions_for(records: list[dict]) -> Callable[[dict], list[str]]:
    """Return a function giving a preference line its prompts: the question its wiser card
    was elicited on, else the questions asked in its context (read from elicitation)."""
    from django.apps import apps

    scenario_ids = {
        record["wiser"].get("scenario")
        for record in records
        if isinstance(record.get("wiser"), dict) and record["wiser"].get("scenario") is not None
    }
    context_ids = {record.get("context_id") for record in records if record.get("context_id")}
    scenario = apps.get_model("elicitation", "Scenario")
    questions = dict(scenario.objects.filter(pk__in=scenario_ids).values_list("pk", "question"))
    by_context: dict = {}
    links = scenario.contexts.through.objects.filter(moralcontext_id__in=context_ids)
    for context_id, question in links.order_by("scenario_id").values_list(
        "moralcontext_id", "scenario__question"
    ):
        by_context.setdefault(context_id, []).append(question)

    def prompts(line: dict) -> list[str]:
        own = questions.get(line["wiser"].get("scenario"))
        return [own] if own else by_context.get(line.get("context_id"), [])

    return prompts


def dpo_export(
    *,
    policy: str,
    out: str | Path,
    deliberation: str | None = None,
    rule: str | None = None,
    preferences_file: str | Path | None = None,
    format: str = "conversational",
    max_new_tokens: int = 128,
    progress: ProgressCallback | None = None,
) -> dict:
    """Write DPO pairs (TRL's preference format) from the moral graph's preferences.

    Reads the deliberation's preferences (moralgraph's export) or a preferences JSONL file;
    the prompts are the question the wiser card was elicited on, else the questions asked in
    its context (one pair each), else the context itself. Returns the counts and where the
    file is; writes nothing unless every pair was generated.
    """
    from training import preferences

    try:
        graph_summary: dict = {}
        if preferences_file:
            records = preferences.read_preferences(preferences_file)
        else:
            records, graph_summary = _deliberation_preferences(deliberation, rule)
        records, two_way = preferences.one_way_preferences(records)
        pairs = preferences.pairs_from_preferences(records, prompt_for=_questions_for(records))
        policy_folder = policy_check(policy)
        identical: list = []
        generator = preferences.CardGuidedPolicy(policy_folder, max_new_tokens=max_new_tokens)
        rows = preferences.preference_rows(
            pairs,
            generator.answer,
            format=format,
            progress=(lambda done, total: progress(done, total, "generating", {}))
            if progress
            else None,
            identical=identical,
            resample=generator.resample,
        )
        if not rows:
            raise preferences.PreferenceError(
                f"the policy gave the same answer for both cards of all {len(pairs)} pairs: "
                "nothing to prefer"
            )
        path = preferences.write_jsonl_atomic(rows, out)
    except (preferences.PreferenceError, OSError) as error:
        raise ValidationError({"preferences": str(error)}) from None
    dropped = {id(pair) for pair in identical}
    summary = {
        "two_way": two_way + graph_summary.get("two_way", 0),
        "tied": graph_summary.get("tied", 0),
        "identical_answers": len(identical),
    }
    meta = {
        "policy": policy,
        "deliberation": deliberation,
        "rule": rule,
        "preferences_file": str(preferences_file) if preferences_file else None,
        "format": format,
        "summary": summary,
        "pairs": [pair.meta for pair in pairs if id(pair) not in dropped],
    }
    Path(f"{path}.meta.json").write_text(json.dumps(meta, indent=1))
    return {"out": str(path), "pairs": len(rows), "format": format, "left_out": summary}


def _deliberation_preferences(name: str | None, rule: str | None) -> tuple[list[dict], dict]:
    from django.apps import apps

    from moralgraph.selectors import preference_export

    if not name:
        raise ValidationError({"deliberation": "name a deliberation or give a preferences file"})
    deliberation = apps.get_model("elicitation", "Deliberation").objects.filter(name=name).first()
    if deliberation is None:
        raise ValidationError({"deliberation": f"no deliberation called {name!r}"})
    lines, summary = preference_export(deliberation=deliberation, rule=rule)
    return list(lines), summary


def dpo_export_start(
    *,
    created_by: User | None,
    name: str,
    deliberation: str,
    policy: str,
    rule: str | None = None,
    format: str = "conversational",
    max_new_tokens: int = 128,
    idempotency_key: str | None = None,
) -> Job:
    """Check the deliberation and policy are there, then start the ``training.export_dpo`` job."""
    from django.apps import apps

    from core.jobs import job_start
    from training.jobs import EXPORT_DPO

    if not apps.get_model("elicitation", "Deliberation").objects.filter(name=deliberation).exists():
        raise ValidationError({"deliberation": f"no deliberation called {deliberation!r}"})
    policy_check(policy)
    out = training_dir("exports") / f"{name}-{uuid.uuid4().hex[:8]}.jsonl"
    return job_start(
        kind=EXPORT_DPO,
        created_by=created_by,
        idempotency_key=idempotency_key,
        params={
            "deliberation": deliberation,
            "rule": rule or None,
            "policy": policy,
            "format": format,
            "max_new_tokens": max_new_tokens,
            "out": str(out),
        },
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
