"""The ASGI application (production: gunicorn with uvicorn workers; see the README).

Two things differ from WSGI. Django opens a database connection per request thread under ASGI,
so persistent connections (CONN_MAX_AGE) only leak connections: they are off unless set. And at
most VALUELAB_REQUESTS_PER_WORKER requests per worker are inside Django before their response
starts (each may hold a database connection), so a burst of requests queues on the event loop
instead of opening more connections than PostgreSQL allows; an interview turn leaves the count
as soon as its stream opens (its LLM wait is bounded by VALUELAB_TURNS_PER_WORKER instead).
"""

import asyncio
import os
import weakref

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")
os.environ.setdefault("CONN_MAX_AGE", "0")

from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402


class AdmissionLimit:
    """Let at most ``limit`` HTTP requests per event loop be served until their response starts."""

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = max(1, limit)
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

        async def send_started(message):
            if message["type"] == "http.response.start":
                release()
            await send(message)

        try:
            return await self.app(scope, receive, send_started)
        finally:
            release()


application = AdmissionLimit(
    get_asgi_application(), int(getattr(settings, "VALUELAB_REQUESTS_PER_WORKER", 16))
)
