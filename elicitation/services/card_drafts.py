"""The card the model writes from an interview, or revises when the participant asks."""

from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.db import transaction

from core import llm
from elicitation import card_rules, interview
from elicitation.models import Chat, Message, ValuesCard
from elicitation.selectors import chat_transcript
from elicitation.services.cards import card_propose, card_store, chat_locked
from elicitation.services.turn import (
    CARD_FAILED_TEXT,
    REVISE_FAILED_TEXT,
    REVISED_TEXT,
    TurnEvent,
    participant_text,
    reply_store,
    study_of,
    turn_failed,
)


def chat_card_write(*, chat: Chat) -> Iterator[TurnEvent]:
    """Ask for the card now (the participant's "write my card", or "try again" after a failure)."""
    chat = Chat.objects.select_related("scenario", "participant", "card").get(pk=chat.pk)
    if chat.card is not None and chat.state in (Chat.State.CARD_PROPOSED, Chat.State.APPROVED):
        yield TurnEvent("card", card=chat.card)
        return
    if not chat.messages.filter(role=Message.Role.USER).exists():
        raise ValidationError({"card": "Tell the interviewer what you think first."})
    yield from card_write(chat=chat)


def card_write(*, chat: Chat) -> Iterator[TurnEvent]:
    """Have the model write the chat's card from the interview; yield the card or the error."""
    prompt = interview.prompt_for(chat.prompt_name, chat.prompt_version)
    messages = interview.distill_messages(
        prompt, question=chat.scenario.question, transcript=chat_transcript(chat=chat)
    )
    draft = _drafted(
        chat=chat, prompt=prompt, messages=messages, shape_text=CARD_FAILED_TEXT, no_card=True
    )
    if isinstance(draft, TurnEvent):
        yield draft
        return
    with transaction.atomic():
        chat = chat_locked(chat)
        if chat.card is not None and chat.state != Chat.State.FAILED:
            card = chat.card  # another request proposed one meanwhile: keep it
        else:
            # A card left with fewer than 3 different policies is proposed for the participant
            # to complete (approval refuses it as is).
            card = _draft_store(chat=chat, draft=draft)
            card_propose(chat=chat, card=card)
    yield TurnEvent("card", card=card)


def _card_draft(
    *, chat: Chat, prompt: interview.Prompt, messages: list[dict[str, str]]
) -> card_rules.ValuesCardShape:
    """Return the card the model writes from ``messages``; raise LLMError if it writes none.

    A card of the right shape that breaks a wording rule is sent back once with the rules it
    breaks; the re-worded card is kept only if it breaks fewer, and whatever is left is shown to
    the participant as hints (a shaky card to edit beats no card at all).
    """
    study = study_of(chat)
    draft = llm.structured(
        messages,
        schema=card_rules.ValuesCardShape,
        purpose="elicitation.card",
        user=chat.participant,
        study=study,
    )
    hints = card_rules.style_hints(**draft.model_dump())
    if not hints or llm.backend_name() == "local":
        # A departure from "the prompt and one re-ask", on the embedded model only. It writes a
        # card at about 2 tokens/s under its schema constraints: one card took 6-981 s (median
        # 112 s over 10 tries on 2 shared cores, bench/bench_local_llm.py), so a re-ask doubles
        # a wait that is already minutes. And it cannot follow the rules it would be re-asked
        # with: 0 of those 10 cards were on-style, and the one re-ask tried (~4 min) came back
        # no better. The participant sees the hints beside the fields at once instead.
        return draft
    again = interview.restyle_messages(prompt, asked=messages, card=draft.model_dump(), hints=hints)
    try:
        restyled = llm.structured(
            again,
            schema=card_rules.ValuesCardShape,
            purpose="elicitation.card",
            user=chat.participant,
            study=study,
            attempts=1,
        )
    except llm.LLMError:
        return draft  # the first card stands; its hints are shown
    if len(card_rules.style_hints(**restyled.model_dump())) < len(hints):
        return restyled
    return draft


def card_revise(*, chat: Chat, request: Message) -> Iterator[TurnEvent]:
    """Have the model change the proposed card as ``request`` asks; yield the reply and card."""
    prompt = interview.prompt_for(chat.prompt_name, chat.prompt_version)
    transcript = [(role, text) for role, text in chat_transcript(chat=chat)][:-1]
    card = chat.card
    current = {"title": card.title, "description": card.description, "policies": card.policies}
    messages = interview.revise_messages(
        prompt,
        question=chat.scenario.question,
        transcript=transcript,
        card=current,
        request=request.text,
    )
    draft = _drafted(
        chat=chat, prompt=prompt, messages=messages, shape_text=REVISE_FAILED_TEXT, no_card=False
    )
    if isinstance(draft, TurnEvent):
        yield draft
        return
    with transaction.atomic():
        chat = chat_locked(chat)
        if chat.state == Chat.State.CARD_PROPOSED and chat.card is not None:
            card = _draft_store(chat=chat, draft=draft)
        else:
            card = chat.card
    reply, _ = reply_store(chat=chat, question=request, text=REVISED_TEXT)
    yield TurnEvent("reply", message=reply)
    yield TurnEvent("card", card=card)


def _draft_store(*, chat: Chat, draft: card_rules.ValuesCardShape) -> ValuesCard:
    """Store the model's ``draft`` as the chat's card, its repeats and cut-off words left out."""
    tidied = card_rules.tidy_card(**draft.model_dump(), question=chat.scenario.question)
    return card_store(chat=chat, **tidied)


def _drafted(
    *,
    chat: Chat,
    prompt: interview.Prompt,
    messages: list[dict[str, str]],
    shape_text: str,
    no_card: bool,
) -> card_rules.ValuesCardShape | TurnEvent:
    """Return the card the model writes from ``messages``, or the error event if it writes none.

    The failure is recorded on the chat: the participant is told ``shape_text`` when the
    model's card had the wrong shape, else why the call failed. ``no_card``: there is no card to
    fall back on (not a revision), so the chat is marked failed and the participant is told that
    nothing is lost.
    """
    try:
        return _card_draft(chat=chat, prompt=prompt, messages=messages)
    except llm.LLMError as error:
        if isinstance(error, llm.LLMInvalidOutput):
            text = shape_text
        else:
            text = participant_text(error)
            if no_card:
                text = text.replace("Your message is saved", "Nothing is lost")
        return turn_failed(chat=chat, error=error, text=text, chat_failed=no_card)
