"""At most VALUELAB_LLM_CONCURRENCY requests in flight to one endpoint from this machine.

A slot is an exclusive ``flock`` on one of N files under ``VAR_DIR/llm-slots/<endpoint>/``, so
the bound holds across every thread and every process of a worker (and the web server) on the
machine, and a process that dies frees its slots with its file descriptors. A request takes its
slot before it is sent: the client's timeout starts only once the request goes out, so waiting
for a slot never counts against VALUELAB_LLM_TIMEOUT. Waiting is bounded by
VALUELAB_LLM_QUEUE_TIMEOUT; after that the call fails as an outage ("every slot is busy").
"""

import hashlib
import os
import time
from pathlib import Path

from django.conf import settings

try:
    import fcntl
except ImportError:  # Windows: no flock; the bound is then per process
    fcntl = None

POLL_START, POLL_CAP = 0.005, 0.1


class SlotsBusy(Exception):
    """No slot came free within the queue timeout."""


def concurrency() -> int:
    """Return the configured number of requests allowed in flight to one endpoint."""
    return max(1, int(getattr(settings, "VALUELAB_LLM_CONCURRENCY", 8)))


def _slot_dir(endpoint: str) -> Path:
    digest = hashlib.sha256(endpoint.encode()).hexdigest()[:16]
    folder = Path(settings.VAR_DIR) / "llm-slots" / digest
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Slot:
    """One held slot; ``release()`` (or leaving the ``with`` block) frees it. Idempotent."""

    def __init__(self, descriptor: int | None, waited: float):
        self._descriptor = descriptor
        self.waited = waited

    def release(self) -> None:
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is not None:
            os.close(descriptor)  # closing drops the flock

    def __enter__(self) -> "Slot":
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()

    def __del__(self) -> None:
        self.release()


def acquire(endpoint: str, *, limit: int | None = None, timeout: float | None = None) -> Slot:
    """Return a held slot for ``endpoint``, waiting for one; raise SlotsBusy after ``timeout``."""
    limit = limit or concurrency()
    if timeout is None:
        timeout = float(getattr(settings, "VALUELAB_LLM_QUEUE_TIMEOUT", 300))
    if fcntl is None:
        return Slot(None, 0.0)
    folder = _slot_dir(endpoint)
    started = time.monotonic()
    pause = POLL_START
    while True:
        for number in range(limit):
            descriptor = os.open(folder / f"{number}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(descriptor)
                continue
            return Slot(descriptor, time.monotonic() - started)
        if time.monotonic() - started >= timeout:
            raise SlotsBusy(f"all {limit} slots stayed busy for {timeout:g} s")
        time.sleep(pause)
        pause = min(pause * 2, POLL_CAP)
