"""The study task type "elicitation": write a values card in an interview.

A study task's ``config``: ``{"deliberation": "<name>", "scenario"?: <id>}``. The task is done
once the participant approved a card in an interview of that deliberation.
"""

from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.study_tasks import TaskType, register_task_type
from elicitation.models import Chat, Deliberation, Scenario

KIND = "elicitation"


def _task_url(participation, task) -> str:
    config = task.config or {}
    query = {key: config[key] for key in ("deliberation", "scenario") if config.get(key)}
    base = reverse("elicitation:scenarios")
    return f"{base}?{urlencode(query)}" if query else base


def _task_is_done(participation, task) -> bool:
    chats = Chat.objects.filter(participant=participation.user, state=Chat.State.APPROVED)
    name = (task.config or {}).get("deliberation")
    if name:
        chats = chats.filter(scenario__deliberation__name=name)
    return chats.exists()


def _task_clean_config(config: dict) -> dict:
    cleaned = {}
    name = config.get("deliberation")
    if name not in (None, ""):
        if not isinstance(name, str) or not Deliberation.objects.filter(name=name).exists():
            raise ValidationError({"deliberation": f"there is no deliberation named {name!r}"})
        cleaned["deliberation"] = name
    scenario = config.get("scenario")
    if scenario not in (None, ""):
        if isinstance(scenario, str) and scenario.strip().isdigit():
            scenario = int(scenario.strip())
        scenarios = Scenario.objects.filter(pk=scenario) if isinstance(scenario, int) else None
        if name and scenarios is not None:
            scenarios = scenarios.filter(deliberation__name=name)
        if isinstance(scenario, bool) or scenarios is None or not scenarios.exists():
            where = f" in the deliberation {name!r}" if name else ""
            raise ValidationError({"scenario": f"there is no scenario {scenario!r}{where}"})
        cleaned["scenario"] = scenario
    return cleaned


def _task_form_fields() -> dict:
    deliberations = Deliberation.objects.order_by("name").values_list("name", "title")
    scenarios = Scenario.objects.select_related("deliberation").order_by("deliberation__name", "pk")
    return {
        "deliberation": forms.ChoiceField(
            label="Deliberation to interview about",
            choices=[("", "— any open one —")] + [(n, f"{t} ({n})") for n, t in deliberations],
            required=False,
        ),
        "scenario": forms.TypedChoiceField(
            label="Question (optional)",
            choices=[("", "— let them choose —")]
            + [(s.pk, f"{s.deliberation.name}: {s.question[:80]}") for s in scenarios],
            coerce=int,
            required=False,
        ),
    }


def _task_unavailable(task) -> str | None:
    config = task.config or {}
    if (
        config.get("deliberation")
        and not Deliberation.objects.filter(name=config["deliberation"]).exists()
    ):
        return "The questions of this interview were removed."
    if config.get("scenario") and not Scenario.objects.filter(pk=config["scenario"]).exists():
        return "The question of this interview was removed."
    return None


def _task_is_at(task, deliberation_name) -> bool:
    named = (task.config or {}).get("deliberation")
    return not named or named == deliberation_name


register_task_type(
    TaskType(
        kind=KIND,
        label="Interview: write a values card",
        url=_task_url,
        is_done=_task_is_done,
        clean_config=_task_clean_config,
        unavailable=_task_unavailable,
        is_at=_task_is_at,
        form_fields=_task_form_fields,
        default_order=2,
        preview_url=lambda task: _task_url(None, task),
    )
)
