"""valuelab.asgi: a burst of requests waits on the event loop instead of each opening a
database connection at once; a response that has started streaming no longer counts."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from valuelab.asgi import AdmissionLimit


def _app(log: list, gates: dict):
    async def app(scope, receive, send):
        name = scope["path"]
        log.append(f"{name} in")
        await gates[name].wait()  # the view is working (the database, a message stored)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        log.append(f"{name} started")
        await gates[name + " body"].wait()  # a stream that goes on (an interview turn)
        await send({"type": "http.response.body", "body": b""})
        log.append(f"{name} done")

    return app


def _run(limit: int, paths: list[str], script, *, hold: float = 30):
    log: list[str] = []

    async def main():
        gates = {p: asyncio.Event() for p in paths} | {p + " body": asyncio.Event() for p in paths}
        app = AdmissionLimit(_app(log, gates), limit, hold=hold)

        async def sent(message):
            pass

        async def receive():
            return {"type": "http.request"}

        tasks = [
            asyncio.ensure_future(app({"type": "http", "path": p}, receive, sent)) for p in paths
        ]
        await script(gates, log)
        for event in gates.values():
            event.set()
        await asyncio.gather(*tasks)

    # On a thread of its own: the browser tests' Playwright keeps an event loop in this one.
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, main()).result()
    return log


def test_a_request_waits_while_the_limit_is_being_served_and_a_stream_frees_its_place():
    async def script(gates, log):
        await asyncio.sleep(0.05)
        assert log == ["/turn in"]  # /healthz waits: one request is being prepared
        gates["/turn"].set()  # the turn's message is stored and its stream opens...
        await asyncio.sleep(0.05)
        # ...so /healthz goes in and is answered while the turn still streams.
        assert log[:3] == ["/turn in", "/turn started", "/healthz in"]
        gates["/healthz"].set()
        gates["/healthz body"].set()
        await asyncio.sleep(0.05)
        assert "/healthz done" in log and "/turn done" not in log

    _run(1, ["/turn", "/healthz"], script)


def test_requests_within_the_limit_are_served_together():
    async def script(gates, log):
        await asyncio.sleep(0.05)
        assert sorted(log) == ["/a in", "/b in"]

    _run(2, ["/a", "/b"], script)


def test_a_long_request_lets_the_next_one_in_after_its_hold():
    async def script(gates, log):
        await asyncio.sleep(0.05)
        assert log == ["/card in"]  # the card is being written by the LLM...
        await asyncio.sleep(0.3)
        assert log == ["/card in", "/healthz in"]  # ...and /healthz does not wait for it

    _run(1, ["/card", "/healthz"], script, hold=0.2)
