"""Finished runs built straight in the database (no model needed) for page tests."""

from evaluation import profiles
from evaluation.models import ItemPool, PoolItem, Response, ResponseScore, Run, Subject, prompt_hash
from training.schemes import SCHWARTZ10


def done_run(name: str, security: float, *, n: int = 8, pool: ItemPool | None = None) -> Run:
    """Return a finished run of a subject ``name`` whose answers all score ``security``."""
    if pool is None:
        pool, _ = ItemPool.objects.get_or_create(
            name="house", version=1, defaults={"provenance": "imported"}
        )
        for i in range(n):
            prompt = f"Question {i}?"
            PoolItem.objects.get_or_create(
                pool=pool,
                key=f"q{i}",
                defaults={"prompt": prompt, "prompt_hash": prompt_hash(prompt)},
            )
    subject = Subject.objects.create(name=name, kind="endpoint", model=name)
    run = Run.objects.create(
        subject=subject, pool=pool, evaluator_path="/evaluators/tiny", settings_hash="s"
    )
    scores = []
    for item in pool.items.all():
        response = Response.objects.create(
            subject=subject,
            prompt_hash=item.prompt_hash,
            settings_hash="s",
            prompt=item.prompt,
            text=f"{name} says <b>{item.key}</b>",
            status="ok",
            attempts=1,
        )
        label = 1 if security > 0.33 else -1 if security < -0.33 else 0
        expected = {key: security if key == "security" else 0.0 for key in SCHWARTZ10}
        labels = {key: label if key == "security" else 0 for key in SCHWARTZ10}
        ResponseScore.objects.bulk_create(
            ResponseScore(
                response=response,
                evaluator_path=run.evaluator_path,
                value=key,
                label=labels[key],
                expected=expected[key],
            )
            for key in SCHWARTZ10
        )
        scores.append({"labels": labels, "expected": expected})
    values = profiles.profile(scores, SCHWARTZ10)
    run.profile = {"dimensions": SCHWARTZ10, "values": values, "n": len(scores), "failed": 0}
    run.status = Run.Status.DONE
    run.n_scored = run.n_items = len(scores)
    run.save()
    return run


def running_evolve_job(user, message: str):
    """Return an evolve job a live worker holds (fresh heartbeat), one round of three done."""
    from django.utils import timezone

    from core.models import Job
    from evaluation.services import EVOLVE_JOB

    now = timezone.now()
    return Job.objects.create(
        kind=EVOLVE_JOB,
        status=Job.Status.RUNNING,
        progress_done=1,
        progress_total=3,
        message=message,
        created_by=user,
        heartbeat=now,
        started=now,
        params={},
    )
