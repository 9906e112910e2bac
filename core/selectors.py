"""Reads of core: what a participant has to do, who may see what, LLM cost per study."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum
from django.urls import reverse

from core.errors import ValueLabError
from core.models import Job, LLMCall, Participation, Study, StudyTask, User
from core.study_tasks import TASK_TYPES


@dataclass(frozen=True)
class TaskState:
    task: StudyTask
    label: str
    url: str | None
    done: bool
    # Why the task cannot be taken (what it was about was deleted); the participant skips it.
    unavailable: str = ""

    @property
    def settled(self) -> bool:
        """Whether the participant is past this task: done, or skipped as unavailable."""
        return self.done or bool(self.unavailable)


def task_unavailable(task: StudyTask) -> str:
    """Return why ``task`` cannot be taken now (its app, project or deliberation is gone), or ""."""
    task_type = TASK_TYPES.get(task.kind)
    if task_type is None:
        return "This kind of task is not installed here."
    return (task_type.unavailable(task) or "") if task_type.unavailable else ""


def participation_task_states(*, participation: Participation) -> list[TaskState]:
    """Return each task of the participant's study, in order, with its link and whether done."""
    completed = set(participation.task_completions.values_list("task_id", flat=True))
    states = []
    for task in participation.study.tasks.all():
        task_type = TASK_TYPES.get(task.kind)
        unavailable = task_unavailable(task)
        if task_type is None or (unavailable and task.pk not in completed):
            label = task_type.label if task_type else task.kind
            states.append(
                TaskState(task=task, label=label, url=None, done=False, unavailable=unavailable)
            )
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


def task_out_of_order(*, user: User, kind: str, target: object) -> str | None:
    """Return where to send ``user`` instead, when the task of ``kind`` at ``target`` (a project
    id, a deliberation name, a task id) comes after a task they have not finished; else None.

    Tasks are taken in order: a participant who opens a later task's address is sent to the
    task they are on. Outside any study (or once earlier tasks are done) there is no detour.
    """
    earlier = _task_before(user=user, kind=kind, target=target)
    if earlier is None:
        return None
    state, participation = earlier
    return state.url or reverse("core:study", args=[participation.study.slug])


class TaskOutOfOrder(ValueLabError):
    """An API call for a later task of a participant's study before the task they are on."""

    status_code = 409


def task_order_check(*, user: User, kind: str, target: object) -> None:
    """Raise ``TaskOutOfOrder`` (409, naming the task they are on and its address) when the task
    of ``kind`` at ``target`` comes after one ``user`` has not finished: the API's order."""
    earlier = _task_before(user=user, kind=kind, target=target)
    if earlier is not None:
        state, participation = earlier
        where = state.url or reverse("core:study", args=[participation.study.slug])
        raise TaskOutOfOrder(
            f"Tasks are taken in order: finish “{state.task.title}” first ({where}).",
            field="task",
        )


def _task_before(*, user: User, kind: str, target: object):
    """Return (the unfinished earlier task's state, its participation), or None."""
    task_type = TASK_TYPES.get(kind)
    if task_type is None or task_type.is_at is None or not getattr(user, "is_authenticated", 0):
        return None
    found = None
    participations = Participation.objects.filter(
        user=user, study__tasks__kind=kind, completed__isnull=True
    ).select_related("study")
    for participation in participations.distinct():
        states = participation_task_states(participation=participation)
        for index, state in enumerate(states):
            if state.task.kind != kind or not task_type.is_at(state.task, target):
                continue
            earlier = next((s for s in states[:index] if not s.settled), None)
            if earlier is None:
                return None  # in one of their studies this is the task they are on
            if found is None:
                found = (earlier, participation)
    return found


def task_study_url(*, user: User, kind: str, target: object) -> str:
    """Return the study page of ``user``'s study whose task of ``kind`` is at ``target`` (a
    project id, a deliberation name), or "" when none is: where a finished task leads back to."""
    task_type = TASK_TYPES.get(kind)
    if task_type is None or task_type.is_at is None or not getattr(user, "is_authenticated", 0):
        return ""
    tasks = (
        StudyTask.objects.filter(kind=kind, study__participations__user=user)
        .select_related("study")
        .order_by("-study__participations__joined")
    )
    for task in tasks:
        if task_type.is_at(task, target):
            return reverse("core:study", args=[task.study.slug])
    return ""


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
