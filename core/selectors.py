"""Reads of core: what a participant has to do, who may see what, LLM cost per study."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum

from core.models import Job, LLMCall, Participation, Study, StudyTask, User
from core.study_tasks import TASK_TYPES


@dataclass(frozen=True)
class TaskState:
    task: StudyTask
    label: str
    url: str | None
    done: bool


def participation_task_states(*, participation: Participation) -> list[TaskState]:
    """Return each task of the participant's study, in order, with its link and whether done."""
    completed = set(participation.task_completions.values_list("task_id", flat=True))
    states = []
    for task in participation.study.tasks.all():
        task_type = TASK_TYPES.get(task.kind)
        if task_type is None:  # the app that provides it is not installed
            states.append(TaskState(task=task, label=task.kind, url=None, done=False))
            continue
        done = task.pk in completed or bool(
            task_type.is_done and task_type.is_done(participation, task)
        )
        states.append(
            TaskState(
                task=task, label=task_type.label, url=task_type.url(participation, task), done=done
            )
        )
    return states


def participation_for_user(*, study: Study, user: User) -> Participation | None:
    """Return ``user``'s participation in ``study``, or None."""
    if not user.is_authenticated:
        return None
    return Participation.objects.filter(study=study, user=user).select_related("study").first()


def studies_with_counts() -> QuerySet[Study]:
    """Return every study with its numbers of participants and of completions."""
    return Study.objects.annotate(
        n_participants=Count("participations", distinct=True),
        n_completed=Count(
            "participations", filter=Q(participations__completed__isnull=False), distinct=True
        ),
    ).order_by("-created")


def llm_usage_by_study() -> list[dict]:
    """Return LLM calls, tokens and failures per study (None: calls made outside any study)."""
    return list(
        LLMCall.objects.values("study__slug", "study__title")
        .annotate(
            calls=Count("id"),
            prompt_tokens=Sum("prompt_tokens"),
            completion_tokens=Sum("completion_tokens"),
            failures=Count(
                "id", filter=~Q(outcome__in=[LLMCall.Outcome.OK, LLMCall.Outcome.PENDING])
            ),
            estimated=Count("id", filter=Q(tokens_estimated=True)),
        )
        .order_by("study__title")
    )


def jobs_visible_to(*, user: User) -> QuerySet[Job]:
    """Return the jobs ``user`` may see: all for researchers, their own for anyone else."""
    if user.is_researcher:
        return Job.objects.all()
    return Job.objects.filter(created_by=user)


def job_for_key(idempotency_key: str) -> Job | None:
    """Return the job a request with this idempotency key started before, if any."""
    return Job.objects.filter(idempotency_key=idempotency_key).first()
