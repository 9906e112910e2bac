"""Each gateway call counted against the participant budget, and recorded as one LLMCall row.

The participant budget is atomic. A limited participant's call first reserves its slot: under
a lock on the participant's row, today's (UTC) calls that succeeded or are still in flight are
counted and, if one is left, a "pending" row is written; the call's outcome then updates that
row. Parallel calls therefore never overshoot the limit, and a call that fails (an outage, a
refusal, an empty or invalid answer) frees its slot again: only answers the participant got
count. A pending row older than PENDING_EXPIRY (a process killed mid-call) stops counting.

No database connection is held while the model answers where connections are per request
(``CONN_MAX_AGE=0``: the ASGI server, with or without its pool): once the budget is reserved,
the connection is closed (given back to the pool, where there is one) before the request goes
out, and the row recording the call opens one again. A slow LLM therefore ties up no connection,
only the waiting thread. Persistent connections (a worker's threads, the development server) are
kept, as is a connection inside a transaction (``atomic``, a test).
"""

import logging
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q

from core.db import release_connection
from core.llm.base import Backend, ChatResult, LLMBudgetExceeded, LLMError

logger = logging.getLogger(__name__)

PENDING_EXPIRY = timedelta(minutes=15)

# What a ChatResult says about its usage, as ``Call.succeeded`` records it.
USAGE = ("model", "prompt_tokens", "completion_tokens", "attempts", "tokens_estimated")


# --- budget ----------------------------------------------------------------------------------


def is_limited(user) -> bool:
    from core.models import User

    return (
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.role == User.Role.PARTICIPANT
        and not user.is_superuser
    )


def used_today(user) -> int:
    """Return the calls that count against ``user``'s budget today: answered or in flight."""
    from core.models import LLMCall

    now = datetime.now(UTC)
    start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    # One query: counted in two, a row turning from pending to ok between them (another
    # call finishing) would be in neither, and PostgreSQL's READ COMMITTED lets that happen.
    answered = Q(outcome=LLMCall.Outcome.OK)
    in_flight = Q(outcome=LLMCall.Outcome.PENDING, created__gte=now - PENDING_EXPIRY)
    today = LLMCall.objects.filter(user=user, created__gte=start_of_day)
    return today.filter(answered | in_flight).count()


def budget_remaining(user) -> int | None:
    """Return how many LLM calls ``user`` has left today, or None if they are not limited."""
    if not is_limited(user):
        return None
    return max(0, int(settings.VALUELAB_LLM_BUDGET) - used_today(user))


# --- recording -------------------------------------------------------------------------------


class Call:
    """One gateway call being timed, and the row that will record it."""

    def __init__(self, *, kind: str, purpose: str, backend: Backend, model: str, user, study):
        self.kind = kind
        self.purpose = purpose
        self.backend = backend
        self.model = model
        self.user = user if getattr(user, "pk", None) else None
        self.study = study if getattr(study, "pk", None) else None
        self.started = time.monotonic()
        self.recorded = False
        self.row_id: int | None = None

    def reserve(self) -> None:
        """Reserve the call's slot in the participant's budget, or raise LLMBudgetExceeded.

        The count and the pending row are written under a lock on the participant's row (on
        SQLite the write transaction itself is the lock), so parallel calls are counted in turn.
        Calls of unlimited users are only recorded at the end.
        """
        if not is_limited(self.user):
            return
        from core.models import LLMCall, User

        limit = int(settings.VALUELAB_LLM_BUDGET)
        with transaction.atomic():
            User.objects.select_for_update().filter(pk=self.user.pk).first()
            if used_today(self.user) < limit:
                self.row_id = LLMCall.objects.create(
                    purpose=self.purpose[:64],
                    kind=self.kind,
                    backend=self.backend.name,
                    user=self.user,
                    study=self.study,
                    model=self.model[:200],
                    outcome=LLMCall.Outcome.PENDING,
                ).pk
                return
        error = LLMBudgetExceeded(
            f"You have reached today's limit of {limit} AI replies. Please come back tomorrow.",
            attempts=0,
        )
        self.failed(error)
        raise error

    def succeeded(
        self,
        *,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        attempts: int,
        note: str = "",
        tokens_estimated: bool = False,
    ) -> None:
        self._record(
            outcome="ok",
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            attempts=attempts,
            error=note,
            tokens_estimated=tokens_estimated,
        )

    def failed(
        self,
        error: LLMError,
        *,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        tokens_estimated: bool = False,
    ) -> None:
        self._record(
            outcome=error.outcome,
            model=self.model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            attempts=error.attempts,
            error=error.message,
            tokens_estimated=tokens_estimated,
        )

    def record(self, reply: ChatResult | LLMError) -> None:
        """Record a chat call by its ``reply``: the result's usage, or the error it raised."""
        if isinstance(reply, LLMError):
            self.failed(reply)
        else:
            self.succeeded(**{name: getattr(reply, name) for name in USAGE})

    def _record(self, **fields) -> None:
        if self.recorded:
            return
        self.recorded = True
        from core.models import LLMCall

        values = {
            **fields,
            "latency_ms": int((time.monotonic() - self.started) * 1000),
            "model": fields["model"][:200],
            "prompt_tokens": max(0, int(fields["prompt_tokens"])),
            "completion_tokens": max(0, int(fields["completion_tokens"])),
            "attempts": max(0, min(int(fields["attempts"]), 32767)),
            "error": fields["error"][:2000],
        }
        try:
            with transaction.atomic():
                if self.row_id is not None:
                    LLMCall.objects.filter(pk=self.row_id).update(**values)
                    return
                LLMCall.objects.create(
                    purpose=self.purpose[:64],
                    kind=self.kind,
                    backend=self.backend.name,
                    user=self.user,
                    study=self.study,
                    **values,
                )
        except DatabaseError:
            # Losing a usage row is better than failing the participant's request over it.
            logger.exception("Could not record an LLM call for %s", self.purpose)


def call_start(
    kind: str, purpose: str, model: str | None, user, study, backend: Backend | None = None
) -> tuple[Backend, Call]:
    """Return the backend to ask (``backend``, else the configured one) and the call reserved on it.

    Raise LLMBudgetExceeded (recorded) when ``user`` has no call left today.
    """
    from core.llm.gateway import get_backend

    backend = backend or get_backend()
    name = backend.embedding_model() if kind == "embed" else backend.chat_model(model)
    call = Call(kind=kind, purpose=purpose, backend=backend, model=name, user=user, study=study)
    call.reserve()
    release_connection()  # the call is reserved: no database until it is recorded
    return backend, call
