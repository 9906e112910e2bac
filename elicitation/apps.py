from urllib.parse import urlencode

from django.apps import AppConfig
from django.urls import reverse

# A study task of this kind has ``config = {"deliberation": "<name>", "scenario"?: <id>}``; it is
# done once the participant approved a card in an interview of that deliberation.
STUDY_TASK_KIND = "elicitation"


def _task_url(participation, task) -> str:
    config = task.config or {}
    query = {key: config[key] for key in ("deliberation", "scenario") if config.get(key)}
    base = reverse("elicitation:scenarios")
    return f"{base}?{urlencode(query)}" if query else base


def _task_is_done(participation, task) -> bool:
    from elicitation.models import Chat

    chats = Chat.objects.filter(participant=participation.user, state=Chat.State.APPROVED)
    name = (task.config or {}).get("deliberation")
    if name:
        chats = chats.filter(scenario__deliberation__name=name)
    return chats.exists()


class ElicitationConfig(AppConfig):
    name = "elicitation"

    def ready(self) -> None:
        from core.llm_check import register_check
        from core.study_tasks import TaskType, register_task_type
        from elicitation.llm_checks import check_values_card

        register_check("values card (the interview's)", check_values_card)

        register_task_type(
            TaskType(
                kind=STUDY_TASK_KIND,
                label="Interview: write a values card",
                url=_task_url,
                is_done=_task_is_done,
            )
        )
