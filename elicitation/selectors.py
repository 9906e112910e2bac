"""Reads of elicitation's data."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from core.models import User
from elicitation.models import (
    Chat,
    Deliberation,
    Message,
    MoralContext,
    Scenario,
    ValuesCard,
)


def card_as_contract(card: ValuesCard) -> dict:
    """Return ``card`` in the contracts' values-card shape (author as a pseudonym, never a name)."""
    return {
        "id": card.pk,
        "title": card.title,
        "description": card.description,
        "policies": list(card.policies),
        "scenario": card.scenario_id,
        "context": card.context_id,
        "author": card.author.pseudonym if card.author_id else None,
        "canonical_id": card.canonical_id or card.pk,
    }


def card_incomplete(*, card: ValuesCard) -> dict[str, str]:
    """Return ``{field: what is missing}`` for a proposed card that cannot be approved as it is
    (the model's card left with fewer than 3 different policies); empty when it can be."""
    from elicitation.card_rules import draft_errors

    return draft_errors(title=card.title, description=card.description, policies=card.policies)


def card_style_hints(card: ValuesCard) -> dict[str, str]:
    """Return the wording rules ``card`` breaks as ``{field: hint}`` (card_rules.style_hints)."""
    from elicitation.card_rules import style_hints

    return style_hints(title=card.title, description=card.description, policies=card.policies)


def card_for_author(card: ValuesCard) -> dict:
    """Return ``card`` in the contract's shape plus ``style_hints`` for its author to act on, and
    the ``revision`` an edit of it sends back (``card_edit``)."""
    return {
        **card_as_contract(card),
        "style_hints": card_style_hints(card),
        "revision": card.revision,
    }


def cards_canonical(*, deliberation: Deliberation) -> QuerySet[ValuesCard]:
    """Return the deliberation's canonical cards (the moral graph's possible values).

    A card proposed in an interview counts only once its author approved it.
    """
    return ValuesCard.objects.filter(
        deliberation=deliberation, canonical__isnull=True, status=ValuesCard.Status.APPROVED
    ).select_related("author")


# --- interviews --------------------------------------------------------------------------------


def deliberations_open() -> QuerySet[Deliberation]:
    """Return the deliberations participants may be interviewed in."""
    return Deliberation.objects.filter(is_open=True)


def scenarios_open(*, deliberation: Deliberation | None = None) -> QuerySet[Scenario]:
    """Return the scenarios participants may start an interview about (optionally of one)."""
    scenarios = Scenario.objects.filter(deliberation__is_open=True).select_related("deliberation")
    if deliberation is not None:
        scenarios = scenarios.filter(deliberation=deliberation)
    return scenarios.order_by("deliberation__name", "pk")


def contexts_of(*, deliberation: Deliberation | None = None) -> QuerySet[MoralContext]:
    """Return moral contexts (of one deliberation, when given)."""
    contexts = MoralContext.objects.select_related("deliberation")
    if deliberation is not None:
        contexts = contexts.filter(deliberation=deliberation)
    return contexts.order_by("deliberation__name", "pk")


def chats_of_participant(*, participant: User) -> QuerySet[Chat]:
    """Return the participant's own chats, newest first, with their scenario and card."""
    return Chat.objects.filter(participant=participant).select_related(
        "scenario__deliberation", "card"
    )


def chat_of_participant(*, participant: User, chat_id: int) -> Chat:
    """Return the participant's own chat; anyone else's is a 404 like a missing one (no probing)."""
    return get_object_or_404(chats_of_participant(participant=participant), pk=chat_id)


def chat_messages(*, chat: Chat) -> QuerySet[Message]:
    """Return the chat's messages in the order they were written."""
    return chat.messages.order_by("pk")


def chat_transcript(*, chat: Chat) -> list[tuple[str, str]]:
    """Return the chat as (role, text) pairs, oldest first (what the interviewer is sent)."""
    return list(chat.messages.order_by("pk").values_list("role", "text"))


def chat_pending_message(*, chat: Chat) -> Message | None:
    """Return the participant's message still waiting for a reply, or None.

    That is the last message when the participant wrote it: a reply always answers the latest
    message, so messages before it are covered by the same reply.
    """
    last = chat.messages.order_by("-pk").first()
    return last if last is not None and last.role == Message.Role.USER else None


def chat_as_contract(*, chat: Chat) -> dict:
    """Return a chat for the API: its state, messages and card (the participant's own wording)."""
    return {
        "id": chat.pk,
        "scenario": chat.scenario_id,
        "state": chat.state,
        "prompt": {"name": chat.prompt_name, "version": chat.prompt_version},
        "messages": [message_as_contract(message) for message in chat_messages(chat=chat)],
        "card": card_for_author(chat.card) if chat.card_id else None,
        "notice": chat.last_error or None,
    }


def message_as_contract(message: Message) -> dict:
    """Return one message for the API."""
    return {
        "id": message.pk,
        "role": message.role,
        "text": message.text,
        "created": message.created.isoformat(),
    }
