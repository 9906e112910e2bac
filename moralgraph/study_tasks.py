"""The study task type "moralgraph.vote": judge N wiser-than stories in a deliberation.

A study task's ``config``: ``{"deliberation": name, "votes": N, "answer_order": "random" |
"yes_first" | "no_first"}``. Without a deliberation the
newest one with stories is used; without ``votes``, the deliberation's ``votes_per_session``.
The task is done once the participant has judged N pairs there, or every pair left to them
when fewer than N are (progress reads "3 of 3" then, never "3 of 10").
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
    from moralgraph.selectors import graph_settings

    votes = (task.config or {}).get("votes")
    if isinstance(votes, int) and not isinstance(votes, bool) and votes > 0:
        return votes
    return graph_settings(deliberation).votes_per_session


def task_votes_for_voter(task: StudyTask | None, deliberation: Deliberation, voter) -> tuple:
    """Return (pairs judged, pairs asked of this voter): the task's number (or the
    deliberation's), capped by what this voter can still be shown, so "3 of 3" is true."""
    from moralgraph.selectors import graph_settings, pairs_left_for_voter, votes_by_voter

    judged = votes_by_voter(voter=voter, deliberation=deliberation)
    wanted = (
        task_votes_needed(task, deliberation)
        if task is not None
        else graph_settings(deliberation).votes_per_session
    )
    if judged >= wanted:
        return judged, wanted
    left = pairs_left_for_voter(voter=voter, deliberation=deliberation)
    return judged, min(wanted, judged + left)


def _url(participation: Participation | None, task: StudyTask) -> str:
    deliberation = task_deliberation(task)
    if deliberation is None:
        return reverse("core:study", args=[task.study.slug])
    return reverse("moralgraph:vote", args=[deliberation.name]) + f"?task={task.pk}"


def _is_done(participation: Participation, task: StudyTask) -> bool:
    deliberation = task_deliberation(task)
    if deliberation is None:
        return False
    judged, needed = task_votes_for_voter(task, deliberation, participation.user)
    return judged >= needed


def _clean_config(config: dict) -> dict:
    from django.core.exceptions import ValidationError

    from core.study_tasks import positive_int
    from moralgraph.vote_page import ANSWER_ORDERS

    name = config.get("deliberation")
    if name not in (None, ""):
        if not isinstance(name, str) or not Deliberation.objects.filter(name=name).exists():
            raise ValidationError({"deliberation": f"there is no deliberation named {name!r}"})
    cleaned = {"deliberation": name} if name else {}
    votes = positive_int(config, "votes", most=1000)
    if votes is not None:
        cleaned["votes"] = votes
    order = config.get("answer_order")
    if order not in (None, ""):
        if order not in ANSWER_ORDERS:
            choices = ", ".join(ANSWER_ORDERS)
            raise ValidationError({"answer_order": f"must be one of {choices}, not {order!r}"})
        cleaned["answer_order"] = order
    return cleaned


def _form_fields() -> dict:
    from django import forms

    names = (
        Deliberation.objects.filter(upgrade_stories__isnull=False)
        .distinct()
        .order_by("name")
        .values_list("name", "title")
    )
    return {
        "deliberation": forms.ChoiceField(
            label="Deliberation whose pairs are judged",
            choices=[("", "— the newest with pairs —")] + [(n, f"{t} ({n})") for n, t in names],
            required=False,
        ),
        "votes": forms.IntegerField(
            label="Pairs per participant",
            min_value=1,
            max_value=1000,
            required=False,
            help_text="Fewer when fewer pairs are left for someone.",
        ),
        "answer_order": forms.ChoiceField(
            label="Order of Yes and No",
            choices=[
                ("random", "Random per participant (recorded with each vote)"),
                ("yes_first", "Yes first for everyone"),
                ("no_first", "No first for everyone"),
            ],
            initial="random",
            required=False,
        ),
    }


def _unavailable(task: StudyTask) -> str | None:
    if task_deliberation(task) is None:
        return "The pairs of this voting task were removed."
    return None


def _is_at(task: StudyTask, deliberation_name: object) -> bool:
    named = (task.config or {}).get("deliberation")
    if named:
        return named == deliberation_name
    found = task_deliberation(task)
    return found is not None and found.name == deliberation_name


register_task_type(
    TaskType(
        kind=KIND,
        label="Moral graph voting",
        url=_url,
        is_done=_is_done,
        clean_config=_clean_config,
        unavailable=_unavailable,
        is_at=_is_at,
        form_fields=_form_fields,
        default_order=4,
        # A researcher's votes are never stored (moralgraph.selectors.vote_refusal: "preview").
        preview_url=lambda task: _url(None, task),
    )
)
