"""What one interview turn yields and stores, whether it answers, writes a card, or fails."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import llm
from core.models import Participation, Study
from elicitation.models import Chat, Message, ValuesCard
from elicitation.study_tasks import KIND as STUDY_TASK_KIND

OUTAGE_TEXT = (
    "The interviewer cannot be reached right now. Your message is saved: "
    "please try again in a few minutes."
)
REFUSED_TEXT = (
    "The interviewer's AI service refused this request, so trying again now will not help. "
    "Your message is saved. Please tell the researcher."
)
CARD_FAILED_TEXT = (
    "The card could not be written this time. Nothing you wrote is lost: "
    "try again, tell the interviewer a little more first, or write the card yourself."
)
REVISE_FAILED_TEXT = (
    "The card could not be changed that way. Try saying it differently, or edit the card directly."
)
CARD_INTRO_TEXT = (
    "Thank you. I am writing what you told me as a card: please check it when it appears."
)
CARD_WRITING_TEXT = (
    "Writing your card from what you said… this can take a minute or two. Keep this page open."
)
REVISED_TEXT = (
    "I have changed the card. Does it say what matters to you now? "
    "You can approve it, edit it yourself, or ask for more changes."
)


@dataclass(frozen=True)
class TurnEvent:
    """What happened during one turn: a piece of the reply, the stored reply, what it is doing now
    (writing the card), a card, an error."""

    kind: str  # "delta" | "reply" | "status" (what is happening now) | "card" | "error"
    text: str = ""
    message: Message | None = None
    card: ValuesCard | None = None
    error: llm.LLMError | None = None


def study_of(chat: Chat) -> Study | None:
    """Return the study this interview is part of, so its LLM calls are booked to it.

    The participant's newest study with an interview task on the chat's deliberation (or on
    any deliberation), else None: an interview outside any study.
    """
    participations = Participation.objects.filter(
        user_id=chat.participant_id, study__tasks__kind=STUDY_TASK_KIND
    ).order_by("-joined")
    name = chat.scenario.deliberation.name
    named = participations.filter(study__tasks__config__deliberation=name).first()
    found = named or participations.first()
    return found.study if found else None


def participant_text(error: llm.LLMError) -> str:
    """Return what the participant is told when the interviewer's LLM call fails with ``error``."""
    if isinstance(error, llm.LLMBudgetExceeded):
        return f"{error.message} Your conversation is saved."
    if isinstance(error, llm.LLMUnavailable):
        return OUTAGE_TEXT
    if isinstance(error, llm.LLMRefused):
        # Not an outage: the same request would be refused again, so waiting will not help.
        return REFUSED_TEXT
    return "The interviewer could not answer. Your message is saved: please try again."


def turn_failed(
    *, chat: Chat, error: llm.LLMError, text: str = "", chat_failed: bool = False
) -> TurnEvent:
    """Record on the chat what the participant is told about ``error``; return the error event.

    ``text`` replaces the usual words for the error. ``chat_failed``: no card could be written,
    so the chat is marked failed too, unless its card was approved meanwhile.
    """
    text = text or participant_text(error)
    chats = Chat.objects.filter(pk=chat.pk)
    fields = {"last_error": text, "updated": timezone.now()}
    if chat_failed:
        chats = chats.exclude(state=Chat.State.APPROVED)
        fields["state"] = Chat.State.FAILED
    chats.update(**fields)
    return TurnEvent("error", text=text, error=error)


def reply_store(*, chat: Chat, question: Message, text: str) -> tuple[Message, bool]:
    """Store the reply to ``question``; return it and whether this call stored it."""
    try:
        with transaction.atomic():
            reply = Message.objects.create(
                chat=chat, role=Message.Role.ASSISTANT, text=text, reply_to=question
            )
    except IntegrityError:
        # Another request answered the same message first (two tabs, a reload mid-reply).
        return Message.objects.get(reply_to=question), False
    Chat.objects.filter(pk=chat.pk).update(last_error="", updated=timezone.now())
    return reply, True
