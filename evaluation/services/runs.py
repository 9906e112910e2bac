"""Profile runs: a subject answers a pool's prompts, the evaluator scores them, a profile results.

Generation is cached per (subject, prompt, settings), paused runs resume where they stopped.
"""

import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from core.jobs import job_cancel, job_start
from core.models import Job, User
from evaluation import profiles
from evaluation.generation import SubjectSpec, generate
from evaluation.models import ItemPool, Response, Run, Subject, prompt_hash, settings_hash
from evaluation.selectors import run_dimensions, run_responses, run_scores, runs_done
from evaluation.services.scoring import evaluator_card, responses_score, target_vector
from training.models import ModelArtifact, Target

RUN_JOB = "evaluation.run"
PROGRESS_SECONDS = 0.5
MAX_ATTEMPTS = 3  # a prompt that failed this many times is left marked failed

Progress = Callable[[int, int, str], None]


class RunPaused(Exception):
    """The run stopped and can be resumed (endpoint down, cost cap); the message says why."""


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
    defaults = {
        "prompt": prompt,
        "text": text.replace("\x00", ""),
        "status": Response.Status.OK,
        "error": "",
        "model": model[:200],
    }
    if attempts is not None:
        defaults["attempts"] = attempts
    response, _ = Response.objects.update_or_create(
        subject=subject,
        prompt_hash=prompt_hash(prompt),
        settings_hash=settings_hash,
        defaults=defaults,
    )
    if attempts is not None:
        return response
    Response.objects.filter(pk=response.pk).update(attempts=F("attempts") + 1)
    return response


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


def run_alignment(*, run: Run, target: dict[str, float]) -> dict | None:
    """Return {"distance", "weighted"} of the run's profile to ``target``, each with its 95%
    interval ("distance_ci", "weighted_ci"), and "n" (None before scoring)."""
    if not run.profile:
        return None
    scores, dimensions = run_scores(run=run)
    if not scores:
        return None
    return profiles.alignment(scores, run.profile["values"], target, dimensions)


def run_target_alignment(*, run: Run, target: Target) -> dict | None:
    """Return the alignment of the run's profile to the stored ``target`` (None before scoring);
    ValidationError naming the target when it is of another value scheme than the run's."""
    vector = target_vector(
        {"scheme": target.scheme, "target": target.vector},
        scheme=run.scheme,
        dimensions=run_dimensions(run),
    )
    return run_alignment(run=run, target=vector)


def runs_by_alignment(*, target: Target, sort: str = "distance") -> tuple[list[dict], str]:
    """Return the finished runs aligned to ``target`` as rows ``{"run", "distance",
    "weighted"}``, best first by ``sort`` ("weighted", else "distance"), and the sort used.

    Runs that cannot be compared with the target (another value scheme) are left out.
    """
    rows = []
    for run in runs_done()[:200]:
        try:
            alignment = run_target_alignment(run=run, target=target)
        except ValidationError:
            continue
        if alignment is not None:
            rows.append({"run": run, **alignment})
    if sort == "weighted":
        rows.sort(key=lambda row: -row["weighted"])
    else:
        sort = "distance"
        rows.sort(key=lambda row: row["distance"])
    return rows, sort


def run_mark_stopped(*, run: Run, status: str, message: str) -> None:
    """Mark a run that stopped outside ``run_execute``'s own handling (cancel, crash)."""
    Run.objects.filter(pk=run.pk, status__in=Run.ACTIVE).update(
        status=status, message=message[:500]
    )
