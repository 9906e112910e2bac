"""The study task type "moralgraph.vote": judge N wiser-than stories in a deliberation.

A study task's ``config``: ``{"deliberation": name, "votes": N}``. Without a deliberation the
newest one with stories is used; without ``votes``, the deliberation's ``votes_per_session``.
The task is done once the participant has judged N pairs there.
"""

from __future__ import annotations

from django.urls import reverse

from core.models import Participation, StudyTask
from core.study_tasks import TaskType, register_task_type
from elicitation.models import Deliberation

KIND = "moralgraph.vote"


def task_deliberation(task: StudyTask) -> Deliberation | None:
    """Return the deliberation a voting task is about, or None if there is none."""
    name = (task.config or {}).get("deliberation")
    if name:
        return Deliberation.objects.filter(name=name).first()
    return Deliberation.objects.filter(upgrade_stories__isnull=False).order_by("-created").first()


def task_votes_needed(task: StudyTask, deliberation: Deliberation) -> int:
    """Return how many pairs the task asks a participant to judge."""
    from moralgraph.voting import graph_settings

    votes = (task.config or {}).get("votes")
    if isinstance(votes, int) and not isinstance(votes, bool) and votes > 0:
        return votes
    return graph_settings(deliberation).votes_per_session


def _url(participation: Participation, task: StudyTask) -> str:
    deliberation = task_deliberation(task)
    if deliberation is None:
        return reverse("core:study", args=[participation.study.slug])
    return reverse("moralgraph:vote", args=[deliberation.name]) + f"?task={task.pk}"


def _is_done(participation: Participation, task: StudyTask) -> bool:
    from moralgraph.voting import votes_by_voter

    deliberation = task_deliberation(task)
    if deliberation is None:
        return False
    judged = votes_by_voter(voter=participation.user, deliberation=deliberation)
    return judged >= task_votes_needed(task, deliberation)


register_task_type(TaskType(kind=KIND, label="Moral graph voting", url=_url, is_done=_is_done))
