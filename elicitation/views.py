"""Pages of the elicitation app for participants: pick a scenario, the interview, the card.

The interview's replies stream as server-sent events from ``chat_stream`` (a POST read with
fetch, since EventSource cannot post); under ASGI the event loop streams them and the LLM call
holds no server thread (``elicitation.streaming``). The card's edit and approve forms are htmx
fragments.
"""

import json
import uuid
from collections.abc import Generator, Iterator

from django.core.exceptions import ValidationError
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from core.errors import validation_error_detail
from core.roles import PARTICIPANT, RESEARCHER, role_required, user_has_role
from core.selectors import task_out_of_order
from core.throttling import rate_limited
from elicitation.card_rules import style_hints
from elicitation.interview import MAX_MESSAGE_CHARS
from elicitation.models import Chat
from elicitation.selectors import (
    card_incomplete,
    chat_messages,
    chat_of_participant,
    chat_pending_message,
    chats_of_participant,
    deliberations_open,
    scenarios_open,
)
from elicitation.services.card_drafts import chat_card_write
from elicitation.services.cards import CardChanged, card_approve, card_edit
from elicitation.services.interviews import chat_start, chat_turn, message_post
from elicitation.services.turn import TurnEvent
from elicitation.streaming import answer_later, events_async, turn_view
from elicitation.study_tasks import KIND as STUDY_TASK_KIND


def _get_chat_for_user(request, chat_id: int) -> Chat:
    """Return the caller's own chat; anyone else's is a 404 like a missing one (no probing)."""
    return chat_of_participant(participant=request.user, chat_id=chat_id)


@role_required(PARTICIPANT, RESEARCHER)
@require_GET
def scenarios(request: HttpRequest) -> HttpResponse:
    """Participants: the scenarios open for interviews, and their own chats to resume.
    Researchers: the same page as a preview (no interview starts from it)."""
    preview = not user_has_role(request.user, PARTICIPANT)
    deliberation = None
    if request.GET.get("deliberation"):
        deliberation = get_object_or_404(deliberations_open(), name=request.GET["deliberation"])
    target = deliberation.name if deliberation else None
    detour = (
        None
        if preview
        else task_out_of_order(user=request.user, kind=STUDY_TASK_KIND, target=target)
    )
    if detour:
        return redirect(detour)  # tasks are taken in order
    open_scenarios = scenarios_open(deliberation=deliberation)
    if request.GET.get("scenario", "").isdigit():
        # A study may name the one scenario its participants talk about.
        open_scenarios = open_scenarios.filter(pk=int(request.GET["scenario"]))
    context = {
        "deliberation": deliberation,
        "scenarios": open_scenarios,
        "chats": [] if preview else chats_of_participant(participant=request.user),
        "start_key": uuid.uuid4().hex,
        "preview": preview,
    }
    return render(request, "elicitation/scenarios.html", context)


@rate_limited("llm")
@role_required(PARTICIPANT)
@require_POST
def chat_begin(request: HttpRequest, scenario_id: int) -> HttpResponse:
    """Participants: start an interview about a scenario (a double click starts one)."""
    scenario = get_object_or_404(scenarios_open(), pk=scenario_id)
    target = scenario.deliberation.name
    if detour := task_out_of_order(user=request.user, kind=STUDY_TASK_KIND, target=target):
        return redirect(detour)  # tasks are taken in order
    chat = chat_start(
        participant=request.user,
        scenario=scenario,
        client_key=request.POST.get("key", "")[:64],
    )
    return redirect("elicitation:chat", chat_id=chat.pk)


# A card written by hand starts with this many empty "pay attention to" fields (3 are required).
HAND_POLICY_FIELDS = 3


def _card_form(chat: Chat, edit_form: dict | None) -> dict:
    """Return what the card form shows: the wording (posted, stored or empty) and its hints."""
    if edit_form is not None:
        title, description = edit_form["title"], edit_form["description"]
        policies = [policy for policy in edit_form["policies"] if policy.strip()]
    elif chat.card is not None:
        title, description, policies = chat.card.title, chat.card.description, chat.card.policies
    else:
        title, description, policies = "", "", []
    written = bool(title.strip() or description.strip() or policies)
    hints = style_hints(title=title, description=description, policies=policies) if written else {}
    rows = [(policy, hints.get(f"policies.{n}", "")) for n, policy in enumerate(policies, 1)]
    rows += [("", "")] * max(0, HAND_POLICY_FIELDS - len(rows))
    return {"title": title, "description": description, "policy_rows": rows, "hints": hints}


def _chat_context(chat: Chat, **extra) -> dict:
    pending = chat_pending_message(chat=chat)
    return {
        "chat": chat,
        "scenario": chat.scenario,
        # Not "messages": that name belongs to django.contrib.messages in base.html.
        "turns": chat_messages(chat=chat),
        "card": chat.card,
        "pending": pending is not None,
        "max_chars": MAX_MESSAGE_CHARS,
        "can_write_card": chat.state in (Chat.State.OPEN, Chat.State.FAILED)
        and chat.messages.filter(role="user").exists(),
        "form": _card_form(chat, extra.pop("edit_form", None)),
        # The model's card left with too few different policies: to complete, not to approve.
        "incomplete": card_incomplete(card=chat.card) if chat.card is not None else {},
        **extra,
    }


@role_required(PARTICIPANT)
@require_GET
def chat_page(request: HttpRequest, chat_id: int) -> HttpResponse:
    """Participants: their interview, where it was left (an unanswered message gets answered)."""
    chat = _get_chat_for_user(request, chat_id)
    return render(request, "elicitation/chat.html", _chat_context(chat))


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def _events_as_sse(chat: Chat, events: Generator[TurnEvent, None, None]) -> Iterator[str]:
    # Padding first: some proxies hold back a response until they have a few bytes.
    yield ": " + " " * 512 + "\n\n"
    try:
        for event in events:
            if event.kind == "delta":
                yield _sse("delta", {"text": event.text})
            elif event.kind == "reply":
                html = render_to_string("elicitation/chat.html#message", {"message": event.message})
                yield _sse(
                    "reply", {"id": event.message.pk, "text": event.message.text, "html": html}
                )
            elif event.kind == "status":
                yield _sse("status", {"text": event.text})
            elif event.kind == "card":
                yield _sse("card", {"html": _card_html(chat)})
            elif event.kind == "error":
                yield _sse("error", {"text": event.text})
    except ValidationError as error:
        yield _sse("error", {"text": " ".join(error.messages)})
    finally:
        # The browser went away mid-reply: stop reading the model now. The participant's
        # message stays unanswered and the next page load answers it.
        events.close()
    chat = _reload(chat)
    yield _sse("end", {"state": chat.state, "card": _card_html(chat), "notice": chat.last_error})


def _reload(chat: Chat) -> Chat:
    # Fresh from the database: the card may have been rewritten since the chat was loaded.
    return Chat.objects.select_related("scenario__deliberation", "card").get(pk=chat.pk)


def _card_html(chat: Chat, **extra) -> str:
    return render_to_string("elicitation/chat.html#card", _chat_context(_reload(chat), **extra))


def _stream_response(
    request: HttpRequest, chat: Chat, events: Generator[TurnEvent, None, None]
) -> StreamingHttpResponse:
    chunks = _events_as_sse(chat, events)
    if isinstance(request, ASGIRequest):
        # The event loop streams it; the LLM call holds no server thread (elicitation.streaming).
        chunks = events_async(chunks)
    response = StreamingHttpResponse(chunks, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


@rate_limited("llm")
@role_required(PARTICIPANT)
@require_POST
def chat_stream(request: HttpRequest, chat_id: int) -> HttpResponse:
    """Participants: store their message, then stream the interviewer's reply as events.

    With no text it answers the message still waiting for a reply (a reload, a retry after an
    outage). A refused message is a 400 with the reason, and nothing is sent to the LLM.
    """
    chat = _get_chat_for_user(request, chat_id)
    text = request.POST.get("text")
    if text is not None:
        try:
            message_post(chat=chat, text=text, client_id=request.POST.get("client_id", ""))
        except ValidationError as error:
            return JsonResponse(validation_error_detail(error), status=400)
    return _stream_response(request, chat, chat_turn(chat=chat))


@vary_on_headers("HX-Request")  # outside: on the response made in the turn slot too
@turn_view
@rate_limited("llm")
@role_required(PARTICIPANT)
@require_POST
def card_write(request: HttpRequest, chat_id: int) -> HttpResponse:
    """Participants: ask for the card now, or again after it could not be written (under ASGI
    the LLM writes it in a turn slot, holding no server thread while it waits)."""
    chat = _get_chat_for_user(request, chat_id)

    def write() -> HttpResponse:
        notice = ""
        try:
            for event in chat_card_write(chat=chat):
                if event.kind == "error":
                    notice = event.text
        except ValidationError as error:
            notice = " ".join(error.messages)
        return _card_fragment_or_page(request, chat, notice=notice)

    return answer_later(request, write)


@role_required(PARTICIPANT)
@require_POST
@vary_on_headers("HX-Request")
def card_update(request: HttpRequest, chat_id: int) -> HttpResponse:
    """Participants: their own wording for the card, replacing the proposed one or written by hand
    when none could be (errors per field; wording rules it breaks come back as hints)."""
    chat = _get_chat_for_user(request, chat_id)
    form = {
        "title": request.POST.get("title", ""),
        "description": request.POST.get("description", ""),
        "policies": request.POST.getlist("policies"),
    }
    revision = request.POST.get("revision", "")
    try:
        card_edit(chat=chat, **form, revision=int(revision) if revision.isdigit() else None)
    except CardChanged:
        # Another tab (or the interviewer) stored the card after this form was opened: their
        # wording stays in the form, the card as it is now is shown above it, and saving again
        # (on the revision now in the form) replaces it knowingly.
        form["policies"] = [policy for policy in form["policies"] if policy.strip()]
        return _card_fragment_or_page(
            request,
            chat,
            status=409,
            edit_form=form,
            editing=True,
            notice=CARD_CHANGED_NOTICE,
        )
    except ValidationError as error:
        errors = validation_error_detail(error)
        form["policies"] = [policy for policy in form["policies"] if policy.strip()]
        notice = ""
        if _reload(chat).state == Chat.State.APPROVED:  # a stale tab: say so, keep their words
            notice = _not_stored_notice(form)
        return _card_fragment_or_page(
            request,
            chat,
            status=400,
            edit_errors=errors,
            edit_form=form,
            editing=True,
            notice=notice,
        )
    return _card_fragment_or_page(request, chat, saved=True)


CARD_CHANGED_NOTICE = (
    "Your changes were not stored: this card was changed in another tab or window (or by the "
    "interviewer) after you opened it, and saving would have undone that. The card as it is now "
    "is shown; your wording is still in the form below — save it again to replace the card."
)


def _not_stored_notice(form: dict) -> str:
    """What a stale tab's card edit is told: not stored, why, and what they wrote (to copy)."""
    why = "This card is approved (in another tab or window), so it can no longer be changed."
    wrote = " — ".join(
        part
        for part in [form["title"].strip(), form["description"].strip(), *form["policies"]]
        if part
    )
    return f"Your changes were not stored. {why} What you wrote: {wrote}"


@role_required(PARTICIPANT)
@require_POST
@vary_on_headers("HX-Request")
def card_approve_view(request: HttpRequest, chat_id: int) -> HttpResponse:
    """Participants: approve the proposed card (twice is harmless); it is then theirs."""
    chat = _get_chat_for_user(request, chat_id)
    try:
        card_approve(chat=chat)
    except ValidationError as error:
        return _card_fragment_or_page(request, chat, status=400, notice=" ".join(error.messages))
    if request.htmx:
        # The whole page changes (no more composer), so reload it.
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return redirect("elicitation:chat", chat_id=chat.pk)


def _card_fragment_or_page(
    request: HttpRequest, chat: Chat, *, status: int = 200, **extra
) -> HttpResponse:
    template = "elicitation/chat.html#card" if request.htmx else "elicitation/chat.html"
    return render(request, template, _chat_context(_reload(chat), **extra), status=status)
