"""Writes and workflows of evaluation: subjects, pools, runs (generate → score → profile)."""

import hashlib
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max

from annotation.models import Project
from core.jobs import job_cancel, job_start
from core.models import Job, User
from evaluation import pools, profiles
from evaluation.generation import SubjectSpec, generate
from evaluation.models import (
    ItemPool,
    PoolItem,
    Response,
    ResponseScore,
    Run,
    Subject,
    prompt_hash,
    settings_hash,
)
from evaluation.selectors import run_responses, run_scores
from training import evaluator as evaluator_module
from training.models import ModelArtifact
from training.targets import TargetError, normalise_key, validate_vector

RUN_JOB = "evaluation.run"
EVOLVE_JOB = "evaluation.evolve"
PROGRESS_SECONDS = 0.5
MAX_ATTEMPTS = 3  # a prompt that failed this many times is left marked failed
SCORE_BATCH = 64

Progress = Callable[[int, int, str], None]


# Requests in flight to one subject's endpoint at most (its ``concurrency`` setting).
MAX_CONCURRENCY = 256


class RunPaused(Exception):
    """The run stopped and can be resumed (endpoint down, cost cap); the message says why."""


# --- subjects -------------------------------------------------------------------------------------


def subject_create(
    *,
    name: str,
    kind: str,
    endpoint: str = "",
    model: str = "",
    api_key_env: str = "",
    policy_path: str = "",
    policy: ModelArtifact | None = None,
    generation: dict | None = None,
    created_by: User | None = None,
) -> Subject:
    """Store a subject (or return the same one stored before); refuse one that cannot answer."""
    if kind == Subject.Kind.POLICY:
        if policy is not None and not policy_path:
            policy_path = policy.path
        if not policy_path or not Path(policy_path).is_dir():
            raise ValidationError({"policy_path": f"{policy_path or '(none)'} is not a folder"})
        endpoint = model = api_key_env = ""
    subject = Subject(
        name=(name or model or Path(policy_path).name or "subject").strip()[:200],
        kind=kind,
        endpoint=endpoint.strip(),
        model=model.strip(),
        api_key_env=api_key_env.strip(),
        policy_path=policy_path,
        policy=policy,
        generation=_clean_generation(generation or {}),
        created_by=created_by,
    )
    subject.full_clean(validate_constraints=False)
    existing = Subject.objects.filter(
        kind=subject.kind,
        endpoint=subject.endpoint,
        model=subject.model,
        policy_path=subject.policy_path,
        name=subject.name,
    ).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            subject.save()
    except IntegrityError:  # a twin saved it at the same moment
        return Subject.objects.get(
            kind=subject.kind,
            endpoint=subject.endpoint,
            model=subject.model,
            policy_path=subject.policy_path,
            name=subject.name,
        )
    return subject


def _clean_generation(generation: dict) -> dict:
    cleaned = {}
    temperature = generation.get("temperature", 0.0)
    if temperature is not None:
        if isinstance(temperature, bool) or not isinstance(temperature, int | float):
            raise ValidationError({"temperature": "must be a number"})
        if not 0 <= temperature <= 2:
            raise ValidationError({"temperature": "must be between 0 and 2"})
        cleaned["temperature"] = float(temperature)
    max_tokens = generation.get("max_tokens", 256)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 1 <= max_tokens:
        raise ValidationError({"max_tokens": "must be a whole number of at least 1"})
    cleaned["max_tokens"] = max_tokens
    system = generation.get("system") or ""
    if not isinstance(system, str):
        raise ValidationError({"system": "must be text"})
    if system:
        cleaned["system"] = system
    concurrency = generation.get("concurrency")
    if concurrency is not None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int):
            raise ValidationError({"concurrency": "must be a whole number"})
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise ValidationError({"concurrency": f"must be between 1 and {MAX_CONCURRENCY}"})
        cleaned["concurrency"] = concurrency
    return cleaned


def subjects_for_alignment(
    *, policy: ModelArtifact, created_by: User | None = None
) -> list[Subject]:
    """Register an aligned policy and the policy it started from as two subjects (before, after).

    The "before" subject is only made when the starting policy is a local folder.
    """
    subjects = []
    start = policy.card.get("policy") or policy.base_model
    if start and Path(start).is_dir():
        subjects.append(
            subject_create(
                name=f"{Path(start).name} (before {policy.name})",
                kind=Subject.Kind.POLICY,
                policy_path=start,
                created_by=created_by,
            )
        )
    subjects.append(
        subject_create(
            name=f"{policy.name} (after)",
            kind=Subject.Kind.POLICY,
            policy=policy,
            policy_path=policy.path,
            created_by=created_by,
        )
    )
    return subjects


def subjects_for_new_policies(*, created_by: User | None = None) -> list[Subject]:
    """Register every aligned policy in the registry that is not a subject yet as two subjects
    (before and after, ``subjects_for_alignment``); return the new ones.

    Called when subjects are listed, so an alignment run's policies appear without a step.
    A policy whose folder is gone is left out (it cannot answer).
    """
    registered = Subject.objects.filter(policy__isnull=False).values("policy")
    new = ModelArtifact.objects.filter(kind=ModelArtifact.Kind.POLICY).exclude(pk__in=registered)
    subjects: list[Subject] = []
    for policy in new.order_by("pk"):
        if Path(policy.path).is_dir():
            subjects += subjects_for_alignment(policy=policy, created_by=created_by)
    return subjects


# --- pools ----------------------------------------------------------------------------------------


def pool_import(
    *,
    name: str,
    data: bytes | str,
    filename: str = "",
    skip_invalid: bool = False,
    provenance: str = ItemPool.Provenance.IMPORTED,
    created_by: User | None = None,
    dimensions: list[str] | None = None,
) -> tuple[ItemPool, list[str]]:
    """Store the file's prompts as the next version of pool ``name``; return (pool, errors).

    Any bad line refuses the whole file (ValidationError listing every line) unless
    ``skip_invalid``. The same file imported again returns the version it made, adding nothing.
    """
    name = (name or Path(filename).stem or "pool").strip()[:200]
    try:
        parsed = pools.parse_pool(data, filename=filename, dimensions=dimensions)
    except pools.PoolFileError as error:
        raise ValidationError({"file": str(error)}) from None
    if parsed.errors and not skip_invalid:
        raise ValidationError({"file": parsed.errors})
    if not parsed.lines:
        raise ValidationError({"file": "no prompt could be read"})
    same = ItemPool.objects.filter(name=name, content_hash=parsed.content_hash).first()
    if same is not None:
        return same, parsed.errors
    return (
        pool_store(
            name=name,
            lines=parsed.lines,
            provenance=provenance,
            source=filename,
            content_hash=parsed.content_hash,
            created_by=created_by,
            details={"skipped": len(parsed.errors)},
        ),
        parsed.errors,
    )


def pool_from_project(
    *, project: Project, name: str = "", created_by: User | None = None
) -> ItemPool:
    """Store the distinct prompts of an annotation project's items as the next version of pool
    ``name`` (default: the project's slug), each with the item it came from.

    Training items and attention checks are left out (they are not the project's data). The
    same prompts taken again return the version they made, adding nothing.
    """
    name = (name or project.slug).strip()[:200]
    items = project.items.exclude(kind__in=["training", "attention"]).order_by("pk")
    lines: list[pools.PoolLine] = []
    seen: set[str] = set()
    for external_id, prompt in items.values_list("external_id", "prompt").iterator():
        if not prompt.strip() or prompt in seen:
            continue  # several responses to one prompt: one item of the pool
        seen.add(prompt)
        source = f"annotation:{project.slug}/{external_id}"
        lines.append(pools.PoolLine(key=external_id, prompt=prompt, meta={"source": source}))
    if not lines:
        raise ValidationError({"project": f"the project “{project.slug}” has no prompts to take"})
    digest = hashlib.sha256("\n".join(line.prompt for line in lines).encode()).hexdigest()
    same = ItemPool.objects.filter(name=name, content_hash=digest).first()
    if same is not None:
        return same
    return pool_store(
        name=name,
        lines=lines,
        provenance=ItemPool.Provenance.ANNOTATION,
        source=f"annotation project {project.slug}",
        content_hash=digest,
        created_by=created_by,
        details={"project": project.slug, "items": items.count()},
    )


def pool_store(
    *,
    name: str,
    lines: list[pools.PoolLine],
    provenance: str,
    source: str = "",
    content_hash: str = "",
    parent: ItemPool | None = None,
    created_by: User | None = None,
    details: dict | None = None,
) -> ItemPool:
    """Store ``lines`` as a new version of pool ``name`` (the next free number)."""
    for _ in range(3):
        version = (ItemPool.objects.filter(name=name).aggregate(v=Max("version"))["v"] or 0) + 1
        try:
            with transaction.atomic():
                pool = ItemPool.objects.create(
                    name=name,
                    version=version,
                    provenance=provenance,
                    source=source[:500],
                    content_hash=content_hash,
                    parent=parent,
                    created_by=created_by,
                    details=details or {},
                )
                PoolItem.objects.bulk_create(
                    PoolItem(
                        pool=pool,
                        key=line.key,
                        prompt=line.prompt,
                        prompt_hash=prompt_hash(line.prompt),
                        value=line.value,
                        meta=line.meta,
                        position=position,
                    )
                    for position, line in enumerate(lines)
                )
                return pool
        except IntegrityError:
            continue  # another import took that version number: take the next one
    raise ValidationError({"name": f"could not store a new version of {name!r}; try again"})


# --- evaluators and targets -----------------------------------------------------------------------


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


# --- runs -----------------------------------------------------------------------------------------


def run_create(
    *,
    subject: Subject,
    pool: ItemPool,
    evaluator_path: str,
    max_calls: int | None = None,
    created_by: User | None = None,
) -> Run:
    """Store a run of ``subject`` on ``pool`` scored by the evaluator in ``evaluator_path``."""
    card = evaluator_card(evaluator_path)
    resolved = str(Path(evaluator_path).resolve())
    if max_calls is None:
        max_calls = getattr(settings, "VALUELAB_EVALUATION_MAX_CALLS", None)
    if max_calls is not None and max_calls < 1:
        raise ValidationError({"max_calls": "must be at least 1 (or empty for no cap)"})
    run = Run(
        subject=subject,
        pool=pool,
        evaluator_path=resolved,
        evaluator=ModelArtifact.objects.filter(path=resolved).first(),
        scheme=card.get("scheme", "schwartz10"),
        generation=subject.generation,
        settings_hash=settings_hash(subject.generation),
        max_calls=max_calls,
        n_items=pool.items.count(),
        created_by=created_by,
    )
    run.full_clean()
    run.save()
    return run


def run_start(*, run: Run, created_by: User | None = None):
    """Queue the run as a job (a resumed run continues where it stopped); return the job.

    Starting a run whose job is queued or running returns that job: nothing starts twice. A run
    left active by a job that ended without saying so (a worker that died) starts again.
    """
    with transaction.atomic():
        run = Run.objects.select_for_update(of=("self",)).select_related("job").get(pk=run.pk)
        job_alive = run.job is not None and run.job.status not in Job.FINISHED
        if run.status in Run.ACTIVE and job_alive:
            return run.job
        job = job_start(kind=RUN_JOB, params={"run": run.pk}, created_by=created_by)
        Run.objects.filter(pk=run.pk).update(job=job, status=Run.Status.QUEUED, message="Queued.")
    return job


def run_cancel(*, run: Run) -> Run:
    """Ask the run's job to stop; the answers so far are kept (starting it again continues)."""
    if run.job is None:
        raise ValidationError({"run": "This run has not been started."})
    job = job_cancel(job=run.job)
    if job.status in Job.FINISHED:
        run_mark_stopped(
            run=run,
            status=Run.Status.CANCELLED,
            message="Cancelled; the answers so far are kept. Start it again to continue.",
        )
    run.refresh_from_db()
    return run


def _set(run: Run, **changes) -> None:
    Run.objects.filter(pk=run.pk).update(**changes)
    for key, value in changes.items():
        if not hasattr(value, "resolve_expression"):
            setattr(run, key, value)


def run_execute(*, run: Run, progress: Progress | None = None) -> dict:
    """Generate the missing responses, score them, store the profile; return the profile.

    Responses are cached by (subject, prompt, settings): a rerun asks the model nothing it
    answered before. A prompt that fails is stored as failed and tried again on the next run,
    up to MAX_ATTEMPTS times. Raise RunPaused (the run marked paused, with the reason) when the
    endpoint is down or the cost cap is reached; starting the run again continues from there.
    """
    report = progress or (lambda done, total, message: None)
    items = list(run.pool.items.values_list("prompt", "prompt_hash"))
    spec = SubjectSpec.of(run.subject)
    spec = SubjectSpec(**{**spec.__dict__, **_generation_fields(run.generation)})
    known = dict(
        Response.objects.filter(subject=run.subject, settings_hash=run.settings_hash).values_list(
            "prompt_hash", "status"
        )
    )
    attempts = dict(
        Response.objects.filter(subject=run.subject, settings_hash=run.settings_hash).values_list(
            "prompt_hash", "attempts"
        )
    )
    unique = {digest: prompt for prompt, digest in items}  # a prompt twice is asked once
    todo = [
        (prompt, digest)
        for digest, prompt in unique.items()
        if known.get(digest) != Response.Status.OK and attempts.get(digest, 0) < MAX_ATTEMPTS
    ]
    total = len(unique)
    done = total - len(todo)
    _set(run, status=Run.Status.GENERATING, message=f"Generating: {done} of {total} answered.")
    report(done, total, run.message)
    if todo:
        _generate_missing(run, spec, todo, done=done, total=total, report=report)
    return _score_and_profile(run, report)


def _generation_fields(generation: dict) -> dict:
    return {
        "temperature": generation.get("temperature", 0.0),
        "max_tokens": generation.get("max_tokens", 256),
        "system": generation.get("system", ""),
    }


def _cap_reached(run: Run) -> bool:
    if run.max_calls is None:
        return False
    run.refresh_from_db(fields=["calls_made"])
    return run.calls_made >= run.max_calls


def _generate_missing(run, spec, todo, *, done: int, total: int, report: Progress) -> None:
    prompts = [prompt for prompt, _ in todo]
    tried = dict(
        Response.objects.filter(
            subject=run.subject,
            settings_hash=run.settings_hash,
            prompt_hash__in=[d for _, d in todo],
        ).values_list("prompt_hash", "attempts")
    )
    down = None
    failed = calls = 0
    flushed = time.monotonic()

    def flush() -> None:
        nonlocal calls, flushed
        message = f"Generating: {done} of {total} answered" + (
            f", {failed} failed." if failed else "."
        )
        _set(run, calls_made=F("calls_made") + calls, message=message)
        calls, flushed = 0, time.monotonic()
        report(done, total, message)

    def cap_reached() -> bool:
        if run.max_calls is None:
            return False
        flush()  # count the calls made so far before comparing with the cap
        return _cap_reached(run)

    for outcome in generate(spec, prompts, stop=cap_reached):
        prompt, digest = todo[outcome.index]
        calls += max(1, outcome.attempts)
        if outcome.endpoint_down:
            # Not this prompt's fault: leave it unanswered (not failed) for the resume.
            down = outcome.error
            break
        if outcome.error is not None:
            _response_failed(run, prompt, digest, str(outcome.error))
            failed += 1
        else:
            response_store(
                subject=run.subject,
                settings_hash=run.settings_hash,
                prompt=prompt,
                text=outcome.text,
                model=outcome.model,
                attempts=tried.get(digest, 0) + 1,
            )
        done += 1
        # Progress (a heartbeat and a cancel check) twice a second, not once per response.
        if time.monotonic() - flushed >= PROGRESS_SECONDS:
            flush()
    flush()
    if down is not None:
        message = (
            f"Paused: {down} The answers so far are kept; resume to continue where it stopped."
        )
        _set(run, status=Run.Status.PAUSED, message=message[:500])
        raise RunPaused(message)
    if _cap_reached(run) and done < total:
        message = (
            f"Paused: the run reached its cap of {run.max_calls} LLM calls with {total - done} "
            "prompts left. Raise the cap and resume to continue."
        )
        _set(run, status=Run.Status.PAUSED, message=message)
        raise RunPaused(message)


def response_store(
    *,
    subject: Subject,
    settings_hash: str,
    prompt: str,
    text: str,
    model: str,
    attempts: int | None = None,
) -> Response:
    """Store (or replace a failed) answer of ``subject`` to ``prompt``; count the attempt
    (``attempts``: the count to store, when the caller knows it). NUL characters in the
    answer are dropped (PostgreSQL's text refuses them; a small policy may emit them)."""
    digest = prompt_hash(prompt)
    text = text.replace("\x00", "")
    if attempts is not None:
        response, _ = Response.objects.update_or_create(
            subject=subject,
            prompt_hash=digest,
            settings_hash=settings_hash,
            defaults={
                "prompt": prompt,
                "text": text,
                "status": Response.Status.OK,
                "error": "",
                "model": model[:200],
                "attempts": attempts,
            },
        )
        return response
    response, _ = Response.objects.update_or_create(
        subject=subject,
        prompt_hash=digest,
        settings_hash=settings_hash,
        defaults={
            "prompt": prompt,
            "text": text,
            "status": Response.Status.OK,
            "error": "",
            "model": model[:200],
        },
    )
    Response.objects.filter(pk=response.pk).update(attempts=F("attempts") + 1)
    return response


def responses_score(
    *,
    evaluator_path: str,
    responses: list[Response],
    report: Callable[[int, int], None] | None = None,
) -> dict[int, dict]:
    """Score ``responses`` not yet scored by the evaluator (in batches); return
    {response id: {"labels", "expected"}} for all of them."""
    from evaluation.selectors import response_labels_by_id

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


def _response_failed(run: Run, prompt: str, digest: str, error: str) -> None:
    response, _ = Response.objects.get_or_create(
        subject=run.subject,
        prompt_hash=digest,
        settings_hash=run.settings_hash,
        defaults={"prompt": prompt, "status": Response.Status.FAILED},
    )
    Response.objects.filter(pk=response.pk).update(
        status=Response.Status.FAILED, error=error[:500], attempts=F("attempts") + 1
    )


def _score_and_profile(run: Run, report: Progress) -> dict:
    responses = list(run_responses(run=run).filter(status=Response.Status.OK))
    _set(run, status=Run.Status.SCORING, message=f"Scoring {len(responses)} responses.")
    responses_score(
        evaluator_path=run.evaluator_path,
        responses=responses,
        report=lambda scored, total: report(scored, total, f"Scoring: {scored} of {total}."),
    )
    answered = len(responses)
    scores, dimensions = run_scores(run=run)
    failed = run_responses(run=run).filter(status=Response.Status.FAILED).count()
    if not scores:
        message = "No response could be scored: every prompt failed. See the responses."
        _set(run, status=Run.Status.FAILED, message=message, n_failed=failed)
        raise ValidationError({"run": message})
    values = profiles.profile(scores, dimensions)
    profile = {"dimensions": dimensions, "values": values, "n": len(scores), "failed": failed}
    _set(
        run,
        status=Run.Status.DONE,
        profile=profile,
        n_generated=answered,
        n_scored=len(scores),
        n_failed=failed,
        message=f"Done: {len(scores)} responses scored"
        + (f", {failed} prompts failed after {MAX_ATTEMPTS} tries." if failed else "."),
    )
    return profile


def run_alignment(*, run: Run, target: dict[str, float]) -> dict[str, float] | None:
    """Return {"distance", "weighted"} of the run's profile to ``target`` (None before scoring)."""
    if not run.profile:
        return None
    scores, dimensions = run_scores(run=run)
    if not scores:
        return None
    return profiles.alignment(scores, run.profile["values"], target, dimensions)


def run_mark_stopped(*, run: Run, status: str, message: str) -> None:
    """Mark a run that stopped outside ``run_execute``'s own handling (cancel, crash)."""
    Run.objects.filter(pk=run.pk, status__in=Run.ACTIVE).update(
        status=status, message=message[:500]
    )


def evolve_cancel(*, job: Job) -> Job:
    """Ask an evolve job to stop (it stops at its next answer or scored batch); no pool is made."""
    if job.kind != EVOLVE_JOB:
        raise ValidationError({"job": "This is not an evolve job."})
    return job_cancel(job=job)


def evolve_start(
    *,
    pool: ItemPool,
    subjects: list[Subject],
    evaluator_path: str,
    value: str = "",
    rounds: int = 3,
    keep: int = 3,
    max_calls: int = 200,
    created_by: User | None = None,
):
    """Check the request and start the evolving-items job; return the job."""
    if len(subjects) < 2:
        raise ValidationError({"subjects": "choose at least two subjects to compare"})
    card = evaluator_card(evaluator_path)
    if value and value not in card["dimensions"]:
        raise ValidationError({"value": f"{value!r} is not a value the evaluator scores"})
    if not 1 <= rounds <= 10:
        raise ValidationError({"rounds": "from 1 to 10"})
    if max_calls < len(subjects) + 1:
        raise ValidationError({"max_calls": f"at least {len(subjects) + 1} calls for one prompt"})
    return job_start(
        kind=EVOLVE_JOB,
        params={
            "pool": pool.pk,
            "subjects": [subject.pk for subject in subjects],
            "evaluator": str(Path(evaluator_path).resolve()),
            "value": value,
            "rounds": rounds,
            "keep": keep,
            "max_calls": max_calls,
        },
        created_by=created_by,
    )
