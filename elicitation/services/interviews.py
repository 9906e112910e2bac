"""An interview: starting it, a participant's message, and the interviewer's turn."""

from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core import llm
from core.models import User
from elicitation import interview, replies
from elicitation.models import Chat, Message, Scenario, ValuesCard
from elicitation.selectors import chat_pending_message, chat_transcript
from elicitation.services.card_drafts import card_revise, card_write
from elicitation.services.turn import (
    CARD_INTRO_TEXT,
    CARD_WRITING_TEXT,
    TurnEvent,
    reply_store,
    study_of,
    turn_failed,
)


def chat_start(*, participant: User, scenario: Scenario, client_key: str = "") -> Chat:
    """Start an interview about ``scenario``, or return the one to resume: the chat started with
    this ``client_key``, else the participant's unfinished chat about the scenario.

    The interviewer's first message, which presents the scenario, is stored with the chat; it
    needs no LLM call, so starting never fails on an outage or an exhausted budget.
    """
    if not scenario.deliberation.is_open:
        raise ValidationError({"scenario": "This scenario is not open for interviews."})
    if client_key:
        existing = Chat.objects.filter(participant=participant, client_key=client_key).first()
        if existing is not None:
            return existing
    # A returning participant (another browser, a lost tab) resumes their unfinished interview.
    unfinished = (
        Chat.objects.filter(participant=participant, scenario=scenario)
        .exclude(state=Chat.State.APPROVED)
        .order_by("-pk")
        .first()
    )
    if unfinished is not None:
        return unfinished
    prompt = interview.prompt_current(backend=llm.backend_name())
    chat = Chat(
        participant=participant,
        scenario=scenario,
        prompt_name=prompt.name,
        prompt_version=prompt.version,
        client_key=client_key,
    )
    chat.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            chat.save()
            Message.objects.create(
                chat=chat,
                role=Message.Role.ASSISTANT,
                text=interview.first_message(
                    question=scenario.question, seed_message=scenario.seed_message
                ),
            )
    except IntegrityError:
        # The same key raced in from a double click: the first one won.
        return Chat.objects.get(participant=participant, client_key=client_key)
    return chat


def message_post(*, chat: Chat, text: str, client_id: str = "") -> Message:
    """Store the participant's message (before any LLM call) and return it.

    Posting again with the same ``client_id``, or the same text while the last message is still
    unanswered, returns the stored message instead of storing it twice.
    """
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write a message before sending."})
    if len(text) > interview.MAX_MESSAGE_CHARS:
        raise ValidationError(
            {
                "text": f"Your message is {len(text):,} characters long; the limit is "
                f"{interview.MAX_MESSAGE_CHARS:,}. Please shorten it and send it again."
            }
        )
    if len(client_id) > 64:
        raise ValidationError({"client_id": "At most 64 characters."})
    with transaction.atomic():
        chat = Chat.objects.select_for_update().get(pk=chat.pk)
        if chat.state == Chat.State.APPROVED:
            raise ValidationError(
                {
                    "text": "This card is approved, so the chat is finished. "
                    "Start a new chat to write another card."
                }
            )
        if client_id:
            existing = chat.messages.filter(client_id=client_id).first()
            if existing is not None:
                return existing
        pending = chat_pending_message(chat=chat)
        if pending is not None and pending.text == text:
            return pending
        message = Message.objects.create(
            chat=chat, role=Message.Role.USER, text=text, client_id=client_id
        )
        fields = {"last_error": ""}
        if chat.state == Chat.State.FAILED:
            fields["state"] = Chat.State.OPEN
        Chat.objects.filter(pk=chat.pk).update(**fields)
    return message


def chat_turn(*, chat: Chat) -> Iterator[TurnEvent]:
    """Answer the chat's unanswered message, yielding the reply as it streams, then what it made.

    Yields nothing when every message is answered (a reload after the reply was stored). A
    consumer that stops early (a dropped connection) leaves the message unanswered, to be
    answered on the next call; an LLM failure leaves it so too and yields an "error" event.
    """
    chat = Chat.objects.select_related("scenario", "participant", "card").get(pk=chat.pk)
    pending = chat_pending_message(chat=chat)
    if pending is None:
        return
    if chat.state == Chat.State.CARD_PROPOSED and chat.card is not None:
        yield from card_revise(chat=chat, request=pending)
        return
    prompt = interview.prompt_for(chat.prompt_name, chat.prompt_version)
    messages = interview.interview_messages(
        prompt, question=chat.scenario.question, transcript=chat_transcript(chat=chat)
    )
    answers = sum(1 for role, _ in chat_transcript(chat=chat) if role == Message.Role.USER)
    if prompt.max_answers and answers >= prompt.max_answers:
        # Enough answers for a card: a small model would never say so itself.
        reply, stored = reply_store(chat=chat, question=pending, text=CARD_INTRO_TEXT)
        yield TurnEvent("reply", message=reply)
        if stored:
            yield TurnEvent("status", text=CARD_WRITING_TEXT)
            yield from card_write(chat=chat)
        return
    marker = replies.MarkerFilter()
    opener = prompt.opener_for(answers=answers)
    shown_text = ""
    asked = False
    try:
        stream = llm.chat_stream(
            messages,
            purpose="elicitation.interview",
            user=chat.participant,
            study=study_of(chat),
            tools=[interview.SUBMIT_TOOL],
            ask=llm.Generation(max_tokens=prompt.max_tokens),
        )
    except llm.LLMError as error:
        yield turn_failed(chat=chat, error=error)
        return
    try:
        for piece in stream:
            if opener:
                # The model goes on from the opener, sometimes after a stray quote.
                piece = piece.lstrip(" \"'“‘")
                if not piece:
                    continue
                piece, opener = f"{opener} {piece}", ""
            shown = marker.feed(piece)
            if prompt.one_question:
                end = replies.first_question_end(shown_text + shown)
                if end is not None:
                    # It has asked its question: show up to it and stop the model there.
                    shown, asked = (shown_text + shown)[len(shown_text) : end], True
            if shown:
                shown_text += shown
                yield TurnEvent("delta", text=shown)
            if asked:
                break
    except llm.LLMError as error:
        yield turn_failed(chat=chat, error=error)
        return
    finally:
        stream.close()
    if asked:
        text, submitted = shown_text, False
    else:
        tail = marker.finish()
        if tail:
            yield TurnEvent("delta", text=tail)
        called = stream.tool_call or {}
        submitted = marker.submitted or called.get("name") == "submit_values_card"
        # Never store a reply cut mid-sentence or mid-word by the token limit (small models
        # run into it).
        cut = stream.completion_tokens >= prompt.max_tokens
        text = replies.end_at_sentence(marker.text, cut=cut)
    text = text.strip() or (CARD_INTRO_TEXT if submitted else "")
    if not text:
        error = llm.LLMUnavailable("The interviewer sent an empty reply.")
        yield turn_failed(chat=chat, error=error)
        return
    reply, stored = reply_store(chat=chat, question=pending, text=text)
    yield TurnEvent("reply", message=reply)
    if stored and submitted:
        # The card takes a while (minutes on a small local model): say so, or the participant
        # sees nothing happen and reloads, which stops the writing.
        yield TurnEvent("status", text=CARD_WRITING_TEXT)
        yield from card_write(chat=chat)


def chat_reply(*, chat: Chat) -> tuple[Message | None, ValuesCard | None, TurnEvent | None]:
    """Run a whole turn; return the stored reply, the card (if one was proposed), the error."""
    reply = card = failure = None
    for event in chat_turn(chat=chat):
        if event.kind == "reply":
            reply = event.message
        elif event.kind == "card":
            card = event.card
        elif event.kind == "error":
            failure = event
    return reply, card, failure
