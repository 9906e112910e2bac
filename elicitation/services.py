"""Writes of elicitation's data: keyword-only, validated before they are saved."""

from collections.abc import Iterator
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core import llm
from core.errors import ValueLabError
from core.models import Participation, Study, User
from core.services import study_task_add
from elicitation import interview
from elicitation.models import Chat, Deliberation, Message, MoralContext, Scenario, ValuesCard
from elicitation.selectors import card_incomplete, chat_pending_message, chat_transcript
from elicitation.study_tasks import KIND as STUDY_TASK_KIND


def deliberation_create(*, name: str, title: str, welcome_text: str = "") -> Deliberation:
    """Create and return a deliberation."""
    deliberation = Deliberation(name=name, title=title, welcome_text=welcome_text)
    deliberation.full_clean()
    deliberation.save()
    return deliberation


def scenario_create(
    *, deliberation: Deliberation, question: str, seed_message: str = "", title: str = ""
) -> Scenario:
    """Create and return a scenario of ``deliberation``."""
    scenario = Scenario(
        deliberation=deliberation, question=question, seed_message=seed_message, title=title
    )
    scenario.full_clean()
    scenario.save()
    return scenario


def context_create(*, deliberation: Deliberation, text: str) -> MoralContext:
    """Create and return a moral context of ``deliberation``."""
    context = MoralContext(deliberation=deliberation, text=text)
    context.full_clean()
    context.save()
    return context


def scenario_include(
    *, deliberation: Deliberation, question: str, seed_message: str = ""
) -> tuple[Scenario, bool]:
    """Return the deliberation's scenario asking ``question`` and whether it is new.

    Create it when there is none, so a double click or a retried request adds it once.
    """
    question = question.strip()
    existing = deliberation.scenarios.filter(question=question).first()
    if existing is not None:
        return existing, False
    scenario = scenario_create(
        deliberation=deliberation, question=question, seed_message=seed_message
    )
    return scenario, True


def context_include(
    *, deliberation: Deliberation, text: str, scenario: Scenario | None = None
) -> tuple[MoralContext, bool]:
    """Return the deliberation's context worded ``text`` (tied to ``scenario``) and if it is new.

    Create it when there is none, so typing the same context twice adds it once.
    """
    text = text.strip()
    context = deliberation.contexts.filter(text=text).first()
    created = context is None
    if created:
        context = context_create(deliberation=deliberation, text=text)
    if scenario is not None:
        context.scenarios.add(scenario)
    return context, created


def interview_task_include(*, study: Study, deliberation: Deliberation) -> bool:
    """Give ``study`` an interview task about ``deliberation`` unless it has one; say if added."""
    already = study.tasks.filter(kind=STUDY_TASK_KIND, config__deliberation=deliberation.name)
    if already.exists():
        return False
    study_task_add(
        study=study,
        kind=STUDY_TASK_KIND,
        title=f"Interview: {deliberation.title}"[:200],
        config={"deliberation": deliberation.name},
    )
    return True


def card_create(
    *,
    deliberation: Deliberation,
    title: str,
    description: str,
    policies: list[str],
    author: User | None = None,
    scenario: Scenario | None = None,
    context: MoralContext | None = None,
    detailed_text: str = "",
) -> ValuesCard:
    """Create and return a canonical values card."""
    card = ValuesCard(
        deliberation=deliberation,
        title=title,
        description=description,
        policies=policies,
        author=author,
        scenario=scenario,
        context=context,
        detailed_text=detailed_text,
    )
    card.full_clean()
    card.save()
    return card


@transaction.atomic
def card_merge(*, card: ValuesCard, into: ValuesCard) -> ValuesCard:
    """Point ``card`` (and the cards merged into it) at canonical ``into``; keep their wording."""
    if card.pk == into.pk:
        raise ValidationError({"canonical": "A card cannot be merged into itself."})
    card.canonical = into
    card.full_clean()
    # Cards merged into ``card`` follow it, so no chain of canonicals ever forms.
    ValuesCard.objects.filter(canonical=card).update(canonical=into)
    card.save(update_fields=["canonical"])
    return card


# --- interviews --------------------------------------------------------------------------------

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
CARD_INTRO_TEXT = "Thank you. I have written what you told me as a card: please check it."
REVISED_TEXT = (
    "I have changed the card. Does it say what matters to you now? "
    "You can approve it, edit it yourself, or ask for more changes."
)


@dataclass(frozen=True)
class TurnEvent:
    """What happened during one turn: a piece of the reply, the stored reply, a card, an error."""

    kind: str  # "delta" | "reply" | "card" | "error"
    text: str = ""
    message: Message | None = None
    card: ValuesCard | None = None
    error: llm.LLMError | None = None


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
        yield from _card_revise(chat=chat, request=pending)
        return
    prompt = interview.prompt_for(chat.prompt_name, chat.prompt_version)
    messages = interview.interview_messages(
        prompt, question=chat.scenario.question, transcript=chat_transcript(chat=chat)
    )
    answers = sum(1 for role, _ in chat_transcript(chat=chat) if role == Message.Role.USER)
    if prompt.max_answers and answers >= prompt.max_answers:
        # Enough answers for a card: a small model would never say so itself.
        reply, stored = _reply_store(chat=chat, question=pending, text=CARD_INTRO_TEXT)
        yield TurnEvent("reply", message=reply)
        if stored:
            yield from _card_write(chat=chat)
        return
    marker = interview.MarkerFilter()
    opener = prompt.opener_for(answers=answers)
    shown_text = ""
    asked = False
    try:
        stream = llm.chat_stream(
            messages,
            purpose="elicitation.interview",
            user=chat.participant,
            study=_study_of(chat),
            max_tokens=prompt.max_tokens,
            tools=[interview.SUBMIT_TOOL],
        )
    except llm.LLMError as error:
        yield _turn_failed(chat=chat, error=error)
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
                end = interview.first_question_end(shown_text + shown)
                if end is not None:
                    # It has asked its question: show up to it and stop the model there.
                    shown, asked = (shown_text + shown)[len(shown_text) : end], True
            if shown:
                shown_text += shown
                yield TurnEvent("delta", text=shown)
            if asked:
                break
    except llm.LLMError as error:
        yield _turn_failed(chat=chat, error=error)
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
        text = interview.end_at_sentence(marker.text, cut=cut)
    text = text.strip() or (CARD_INTRO_TEXT if submitted else "")
    if not text:
        error = llm.LLMUnavailable("The interviewer sent an empty reply.")
        yield _turn_failed(chat=chat, error=error)
        return
    reply, stored = _reply_store(chat=chat, question=pending, text=text)
    yield TurnEvent("reply", message=reply)
    if stored and submitted:
        yield from _card_write(chat=chat)


def chat_card_write(*, chat: Chat) -> Iterator[TurnEvent]:
    """Ask for the card now (the participant's "write my card", or "try again" after a failure)."""
    chat = Chat.objects.select_related("scenario", "participant", "card").get(pk=chat.pk)
    if chat.card is not None and chat.state in (Chat.State.CARD_PROPOSED, Chat.State.APPROVED):
        yield TurnEvent("card", card=chat.card)
        return
    if not chat.messages.filter(role=Message.Role.USER).exists():
        raise ValidationError({"card": "Tell the interviewer what you think first."})
    yield from _card_write(chat=chat)


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


class CardChanged(ValueLabError):
    """The card was stored again (another tab, the interviewer's revision) after the revision an
    edit was made on: the edit is not stored, so it does not silently undo that change."""

    status_code = 409


def card_edit(
    *,
    chat: Chat,
    title: str,
    description: str,
    policies: list[str],
    revision: int | None = None,
) -> ValuesCard:
    """Store the participant's own wording as the chat's proposed card; raise per-field errors.

    Replaces a proposed card's wording, or creates the card when none could be written (the
    model failed, or the participant would rather write it themselves). Only the card's shape
    is refused; wording that breaks a style rule is kept and shown back as a hint.

    ``revision`` is the card's revision the edit was made on (0: no card yet). When given and
    the card has been stored since, raise ``CardChanged`` (409, on ``revision``) and store
    nothing; without it the edit replaces whatever is there (older clients).
    """
    policies = [policy for policy in (p.strip() for p in policies) if policy]
    errors = interview.draft_errors(title=title, description=description, policies=policies)
    if errors:
        raise ValidationError(errors)
    draft = interview.ValuesCardShape(title=title, description=description, policies=policies)
    with transaction.atomic():
        chat = _chat_locked(chat)
        if chat.state == Chat.State.APPROVED:
            raise ValidationError(
                {"card": "This card is approved, so it can no longer be changed."}
            )
        if chat.card is None and not chat.messages.filter(role=Message.Role.USER).exists():
            raise ValidationError({"card": "Tell the interviewer what you think first."})
        current = chat.card.revision if chat.card is not None else 0
        if revision is not None and revision != current:
            raise CardChanged(
                "Your changes were not stored: the card was changed (in another tab or window, "
                f"or by the interviewer) after you opened it — you edited revision {revision}, "
                f"it is now at revision {current}.",
                field="revision",
            )
        card = _card_store(chat=chat, **draft.model_dump())
        if chat.state != Chat.State.CARD_PROPOSED or chat.card_id != card.pk:
            chat.card = card
            chat.state = Chat.State.CARD_PROPOSED
            chat.last_error = ""
            chat.save(update_fields=["card", "state", "last_error", "updated"])
    return card


def card_approve(*, chat: Chat) -> ValuesCard:
    """Approve the chat's proposed card (approving twice is harmless) and finish the chat."""
    with transaction.atomic():
        chat = Chat.objects.select_for_update(of=("self",)).select_related("card").get(pk=chat.pk)
        if chat.state == Chat.State.APPROVED and chat.card is not None:
            return chat.card
        if chat.state != Chat.State.CARD_PROPOSED or chat.card is None:
            raise ValidationError({"card": "There is no card to approve yet."})
        card = chat.card
        if problems := card_incomplete(card=card):
            raise ValidationError(
                {"card": "Complete the card before approving it: " + " ".join(problems.values())}
            )
        card.status = ValuesCard.Status.APPROVED
        card.approved = timezone.now()
        card.save(update_fields=["status", "approved"])
        chat.state = Chat.State.APPROVED
        chat.last_error = ""
        chat.save(update_fields=["state", "last_error", "updated"])
    return card


def _study_of(chat: Chat) -> Study | None:
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


def _participant_text(error: llm.LLMError) -> str:
    if isinstance(error, llm.LLMBudgetExceeded):
        return f"{error.message} Your conversation is saved."
    if isinstance(error, llm.LLMUnavailable):
        return OUTAGE_TEXT
    if isinstance(error, llm.LLMRefused):
        # Not an outage: the same request would be refused again, so waiting will not help.
        return REFUSED_TEXT
    return "The interviewer could not answer. Your message is saved: please try again."


def _turn_failed(*, chat: Chat, error: llm.LLMError) -> TurnEvent:
    text = _participant_text(error)
    Chat.objects.filter(pk=chat.pk).update(last_error=text, updated=timezone.now())
    return TurnEvent("error", text=text, error=error)


def _reply_store(*, chat: Chat, question: Message, text: str) -> tuple[Message, bool]:
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


def _card_write(*, chat: Chat) -> Iterator[TurnEvent]:
    prompt = interview.prompt_for(chat.prompt_name, chat.prompt_version)
    messages = interview.distill_messages(
        prompt, question=chat.scenario.question, transcript=chat_transcript(chat=chat)
    )
    try:
        draft = _card_draft(chat=chat, prompt=prompt, messages=messages)
    except llm.LLMError as error:
        text = (
            CARD_FAILED_TEXT
            if isinstance(error, llm.LLMInvalidOutput)
            else _participant_text(error).replace("Your message is saved", "Nothing is lost")
        )
        Chat.objects.filter(pk=chat.pk).exclude(state=Chat.State.APPROVED).update(
            state=Chat.State.FAILED, last_error=text, updated=timezone.now()
        )
        yield TurnEvent("error", text=text, error=error)
        return
    with transaction.atomic():
        chat = _chat_locked(chat)
        if chat.card is not None and chat.state != Chat.State.FAILED:
            card = chat.card  # another request proposed one meanwhile: keep it
        else:
            # Repeats and cut-off words left out; a card left with fewer than 3 different
            # policies is proposed for the participant to complete (approval refuses it as is).
            card = _card_store(
                chat=chat,
                **interview.tidy_card(**draft.model_dump(), question=chat.scenario.question),
            )
            chat.card = card
            chat.state = Chat.State.CARD_PROPOSED
            chat.last_error = ""
            chat.save(update_fields=["card", "state", "last_error", "updated"])
    yield TurnEvent("card", card=card)


def _card_draft(
    *, chat: Chat, prompt: interview.Prompt, messages: list[dict[str, str]]
) -> interview.ValuesCardShape:
    """Return the card the model writes from ``messages``; raise LLMError if it writes none.

    A card of the right shape that breaks a wording rule is sent back once with the rules it
    breaks; the re-worded card is kept only if it breaks fewer, and whatever is left is shown to
    the participant as hints (a shaky card to edit beats no card at all).
    """
    study = _study_of(chat)
    draft = llm.structured(
        messages,
        schema=interview.ValuesCardShape,
        purpose="elicitation.card",
        user=chat.participant,
        study=study,
    )
    hints = interview.style_hints(**draft.model_dump())
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
            schema=interview.ValuesCardShape,
            purpose="elicitation.card",
            user=chat.participant,
            study=study,
            attempts=1,
        )
    except llm.LLMError:
        return draft  # the first card stands; its hints are shown
    if len(interview.style_hints(**restyled.model_dump())) < len(hints):
        return restyled
    return draft


def _chat_locked(chat: Chat) -> Chat:
    """Return ``chat`` read again with its row locked (inside the caller's transaction), with its
    card and scenario: every write of the chat's card holds this lock."""
    return (
        Chat.objects.select_for_update(of=("self",))
        .select_related("card", "scenario")
        .get(pk=chat.pk)
    )


def _card_store(*, chat: Chat, title: str, description: str, policies: list[str]) -> ValuesCard:
    card = chat.card or ValuesCard(
        deliberation_id=chat.scenario.deliberation_id,
        scenario=chat.scenario,
        author_id=chat.participant_id,
        status=ValuesCard.Status.PROPOSED,
    )
    card.title, card.description, card.policies = title, description, policies
    card.full_clean()
    if card.pk is None:
        card.revision = 1
        card.save()
        return card
    card.revision = F("revision") + 1  # every caller holds the chat's row lock
    card.save()
    card.refresh_from_db(fields=["revision"])
    return card


def _card_revise(*, chat: Chat, request: Message) -> Iterator[TurnEvent]:
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
    try:
        draft = _card_draft(chat=chat, prompt=prompt, messages=messages)
    except llm.LLMError as error:
        text = (
            REVISE_FAILED_TEXT
            if isinstance(error, llm.LLMInvalidOutput)
            else _participant_text(error)
        )
        Chat.objects.filter(pk=chat.pk).update(last_error=text, updated=timezone.now())
        yield TurnEvent("error", text=text, error=error)
        return
    with transaction.atomic():
        chat = _chat_locked(chat)
        if chat.state == Chat.State.CARD_PROPOSED and chat.card is not None:
            card = _card_store(
                chat=chat,
                **interview.tidy_card(**draft.model_dump(), question=chat.scenario.question),
            )
        else:
            card = chat.card
    reply, _ = _reply_store(chat=chat, question=request, text=REVISED_TEXT)
    yield TurnEvent("reply", message=reply)
    yield TurnEvent("card", card=card)
