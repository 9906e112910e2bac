"""Many chat calls to one endpoint at once, each recorded like ``llm.chat`` records it.

    for index, reply in llm.chat_each(conversations, purpose="evaluation.generate",
                                      endpoint=url, api_key=key, concurrency=32):
        if isinstance(reply, llm.LLMError): ...

Requests run in threads (at most ``concurrency`` in flight; the gateway's slots bound them
across processes too); the budget is reserved and every call recorded on the calling thread, so
the threads touch no database (SQLite allows one writer; a test's transaction stays whole).
"""

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from itertools import islice

from core.llm import slots
from core.llm.base import ChatResult, Generation, LLMError, LLMUnavailable, Message
from core.llm.calls import Call, call_start
from core.llm.gateway import backend_name


def chat_each(
    conversations: Sequence[list[Message]],
    *,
    purpose: str,
    user=None,
    study=None,
    ask: Generation = Generation(),
    endpoint: str = "",
    api_key: str = "",
    concurrency: int | None = None,
    stop: Callable[[], bool] | None = None,
) -> Iterator[tuple[int, ChatResult | LLMError]]:
    """Yield ``(index, reply)`` per conversation in the order they finish; a failed call's
    reply is its LLMError (LLMBudgetExceeded included), never raised.

    ``endpoint`` (an OpenAI-compatible base URL, with ``api_key``) asks that endpoint instead of
    the configured LLM, with the same retries and timeout; ``concurrency`` None means
    VALUELAB_LLM_CONCURRENCY (one at a time on the embedded model). After an outage
    (LLMUnavailable) or once ``stop()`` is true no new request is sent; those in flight are
    still yielded.
    """
    backend = None
    if endpoint:
        from core.llm.openai_backend import OpenAIBackend

        backend = OpenAIBackend(endpoint, api_key, concurrency=concurrency)
    elif backend_name() != "openai":
        concurrency = 1
    workers = concurrency or slots.concurrency()
    halted = threading.Event()
    pending: dict[Future, Call] = {}
    order = iter(range(len(conversations)))

    def send(index: int, chosen, call: Call) -> ChatResult | LLMError:
        if halted.is_set():
            return LLMUnavailable("not sent: the batch stopped", attempts=0)
        try:
            return chosen.chat(conversations[index], ask.naming(call.model))
        except LLMError as error:
            return error

    def submit(pool: ThreadPoolExecutor, index: int) -> tuple[int, ChatResult | LLMError] | None:
        try:
            chosen, call = call_start("chat", purpose, ask.model, user, study, backend)
        except LLMError as error:  # the budget is spent (recorded by call_start)
            return index, error
        future = pool.submit(send, index, chosen, call)
        future.index = index
        pending[future] = call
        return None

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm-batch") as pool:
        try:
            for index in islice(order, workers * 2):  # a bounded window: a stop wastes little
                refused = submit(pool, index)
                if refused:
                    yield refused
            while pending:
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for future in done:
                    call = pending.pop(future)
                    reply = future.result()
                    if isinstance(reply, LLMError) and reply.attempts == 0 and halted.is_set():
                        continue  # never sent
                    call.record(reply)
                    yield future.index, reply
                    if isinstance(reply, LLMUnavailable) or (stop and stop()):
                        halted.set()
                    index = None if halted.is_set() else next(order, None)
                    if index is not None:
                        refused = submit(pool, index)
                        if refused:
                            yield refused
        finally:
            # The caller stopped reading (or an error): drop what was not sent, record the rest.
            halted.set()
            pool.shutdown(wait=True, cancel_futures=True)
            for future, call in pending.items():
                reply = None if future.cancelled() else future.result()
                if reply is None or (isinstance(reply, LLMError) and reply.attempts == 0):
                    reply = LLMUnavailable("not sent: the batch stopped", attempts=0)
                call.record(reply)
