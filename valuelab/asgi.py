"""The ASGI application (production: gunicorn with uvicorn workers; see the README).

Two things differ from WSGI. Django opens a database connection per request thread under ASGI,
so persistent connections (CONN_MAX_AGE) only leak connections: they are off unless set, and on
PostgreSQL the connections come from a pool per worker process instead (``DATABASE_POOL``,
``valuelab/settings.py``), so no request pays for opening one. And at
most VALUELAB_REQUESTS_PER_WORKER requests per worker are inside Django before their response
starts (each may hold a database connection), so a burst of requests queues on the event loop
instead of opening more connections than PostgreSQL allows; an interview turn leaves the count
as soon as its stream opens (its LLM wait is bounded by VALUELAB_TURNS_PER_WORKER instead), and
any request still unanswered after ``HOLD_SECONDS`` (a card written by the LLM, an API turn) lets
the next one in, so long requests never queue the short ones behind them.
"""

import asyncio
import os
import weakref

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")
os.environ.setdefault("CONN_MAX_AGE", "0")
# PostgreSQL: a connection pool per web worker (DATABASE_POOL=0 turns it off); Celery has none.
os.environ["VALUELAB_SERVER"] = "asgi"

from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

HOLD_SECONDS = 1.0


class AdmissionLimit:
    """Let at most ``limit`` HTTP requests per event loop be served until their response starts
    (or for ``hold`` seconds, whichever comes first)."""

    def __init__(self, app, limit: int, *, hold: float = HOLD_SECONDS):
        self.app = app
        self.limit = max(1, limit)
        self.hold = hold
        self._gates: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(self.limit)
        return gate

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        gate = self._gate()
        await gate.acquire()
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                gate.release()

        timer = asyncio.get_running_loop().call_later(self.hold, release)

        async def send_started(message):
            if message["type"] == "http.response.start":
                release()
            await send(message)

        try:
            return await self.app(scope, receive, send_started)
        finally:
            timer.cancel()
            release()


application = AdmissionLimit(
    get_asgi_application(), int(getattr(settings, "VALUELAB_REQUESTS_PER_WORKER", 16))
)
