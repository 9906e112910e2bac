"""Serve an interview turn's events without holding a server thread while the LLM answers.

Under ASGI (production: gunicorn with uvicorn workers) the chat's server-sent events are an
async iterator that the event loop drives. The turn itself (``chat_turn``: the gateway, the
database, the retries) stays synchronous code; each step of it runs through ``sync_to_async`` in
the request's own thread (asgiref gives every ASGI request its own), so a slow LLM holds that
request's thread and nothing else: the event loop keeps serving every other page and API call.
At most ``VALUELAB_TURNS_PER_WORKER`` turns run at once in one worker process (each a thread,
and a database connection except while the LLM answers: the gateway gives it back); the others
wait on the event loop, holding no busy thread and no connection, their participant's message
already stored.

The API's turn (``POST /api/elicitation/chats/<id>/messages/``) and the card written now (the
API's ``card/write/`` and the page's "write my card now") answer in one response, not a stream.
Their views are wrapped by ``turn_view``: the view checks the request and stores what it must in
its own thread, then hands back the LLM part (``answer_later``); the wrapper waits for a turn
slot on the event loop (no thread busy, no database connection) and runs that part in the
request's thread. The response is the same one the view gave before.

Under WSGI (``make run``'s development server, the test client) the same events are a plain
generator and the LLM part runs at once, as before: every request has its own thread there.
"""

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from functools import wraps

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse

from core.db import release_connection

_END = object()
# Turns running at once in one worker when VALUELAB_TURNS_PER_WORKER is not set.
DEFAULT_TURNS_PER_WORKER = 32
_slots: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = (
    weakref.WeakKeyDictionary()
)


def turns_per_worker() -> int:
    """Return how many turns may run at once in one worker process."""
    return max(1, int(getattr(settings, "VALUELAB_TURNS_PER_WORKER", DEFAULT_TURNS_PER_WORKER)))


def _turn_slots() -> asyncio.Semaphore:
    # One bound per event loop (one per worker process; tests make a loop per request).
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(turns_per_worker())
    return slots


def _next(chunks: Iterator[str]):
    return next(chunks, _END)


async def events_async(chunks: Iterator[str]) -> AsyncIterator[str]:
    """Yield ``chunks`` (a turn's SSE text, a sync generator) from the event loop.

    The first chunk (the padding that opens the stream) is sent before waiting for a slot, so
    the browser knows at once that its message was taken. A stream the browser drops is closed
    in its own thread, which stops the model; the message stays stored and unanswered.
    """
    step = sync_to_async(_next, thread_sensitive=True)
    try:
        first = await step(chunks)
        if first is _END:
            return
        yield first
        await sync_to_async(release_connection, thread_sensitive=True)()
        async with _turn_slots():
            while (chunk := await step(chunks)) is not _END:
                yield chunk
    finally:
        # Shielded: a dropped connection cancels this task, and the close must still run.
        await asyncio.shield(sync_to_async(chunks.close, thread_sensitive=True)())


class Deferred(HttpResponse):
    """A view's answer still to be made by ``work()`` (the LLM part), in a turn slot.

    Only ``turn_view`` ever sees one: it returns what ``work()`` returns instead.
    """

    def __init__(self, work: Callable[[], HttpResponse]):
        super().__init__(status=202)
        self.work = work


def under_asgi(request) -> bool:
    """Return whether ``request`` (Django's, or DRF's wrapping it) is served over ASGI."""
    return isinstance(getattr(request, "_request", request), ASGIRequest)


def answer_later(
    request,
    work: Callable[[], HttpResponse],
    *,
    deferred: Callable[[], HttpResponse] | None = None,
) -> HttpResponse:
    """Return ``work()``'s response; under ASGI, let ``turn_view`` run it in a turn slot (as
    ``deferred`` where given: ``work`` wrapped in what a view's dispatch would do around it)."""
    if under_asgi(request):
        return Deferred(deferred or work)
    return work()


async def run_turn(work: Callable[[], HttpResponse]) -> HttpResponse:
    """Run ``work`` (a turn's LLM part) in the request's own thread once a turn slot is free.

    While it waits for the slot the request holds no database connection and no busy thread.
    """
    await sync_to_async(release_connection, thread_sensitive=True)()
    async with _turn_slots():
        return await sync_to_async(work, thread_sensitive=True)()


def turn_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Serve ``view`` as an async view whose LLM part (``answer_later``) runs in a turn slot.

    The view's attributes (roles, DRF's ``cls``, ``csrf_exempt``) are kept.
    """

    @wraps(view)
    async def serve(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = await sync_to_async(view, thread_sensitive=True)(request, *args, **kwargs)
        if isinstance(response, Deferred):
            response = await run_turn(response.work)
        return response

    return serve
