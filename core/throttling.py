"""Rate limits: DRF's throttles for the API, the same throttles for pages, login lockout (axes).

Rates live in ``settings.VALUELAB_THROTTLE_RATES`` (``"N/s|min|hour|day"`` or None for no limit)
and are read on every request, so a deployment (or a test) changes them in settings alone. Each
limit counts per signed-in user, else per client IP. A refused request gets 429 with
``Retry-After``; pages say it in words.
"""

import ipaddress
import math
from functools import wraps

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import exceptions
from rest_framework.throttling import SimpleRateThrottle

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def client_ip(request: HttpRequest) -> str | None:
    """Return the client's IP: ``REMOTE_ADDR``, or the address the trusted proxies saw.

    With ``VALUELAB_PROXIES = N`` (N proxies in front), the Nth address from the right of
    ``X-Forwarded-For`` is the client's (DRF's ``NUM_PROXIES`` rule); a client cannot spoof it.
    """
    proxies = settings.VALUELAB_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
        if addresses:
            return _valid_ip(addresses[-min(proxies, len(addresses))])
    return _valid_ip(request.META.get("REMOTE_ADDR", ""))


def _valid_ip(address: str) -> str | None:
    """Return ``address`` if it is an IPv4/IPv6 address, else None.

    django-axes stores it in a ``GenericIPAddressField``: on PostgreSQL (``inet``) anything else
    is an error, and a request built without ``REMOTE_ADDR`` (``force_login``, some proxies)
    has none.
    """
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


class ValueLabThrottle(SimpleRateThrottle):
    """DRF's rate throttle with the rate read from settings per request, per user else per IP."""

    scope = "api"
    cache = None  # set per instance: the "throttle" cache, looked up when used

    def __init__(self, scope: str | None = None, *, per_ip: bool = False):
        if scope:
            self.scope = scope
        self.per_ip = per_ip
        self.cache = caches["throttle"]
        super().__init__()

    def get_rate(self) -> str | None:
        return settings.VALUELAB_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view) -> str:
        user = getattr(request, "user", None)
        if not self.per_ip and user is not None and user.is_authenticated:
            ident = f"user-{user.pk}"
        else:
            ident = f"ip-{client_ip(request) or 'unknown'}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def applies(self, request, view) -> bool:
        return True

    def allow_request(self, request, view) -> bool:
        if not self.applies(request, view):
            return True
        return super().allow_request(request, view)


class ApiThrottle(ValueLabThrottle):
    """Every API request."""

    scope = "api"


class ApiWriteThrottle(ValueLabThrottle):
    """API requests that change something (POST, PUT, PATCH, DELETE)."""

    scope = "api_write"

    def applies(self, request, view) -> bool:
        return request.method not in SAFE_METHODS


class LLMThrottle(ValueLabThrottle):
    """API views that call the LLM say so with ``throttle_scope = "llm"`` (DRF's convention)."""

    scope = "llm"

    def applies(self, request, view) -> bool:
        return getattr(view, "throttle_scope", None) == "llm"


class TokenFailureGuard:
    """Count failed ``Authorization: Token`` attempts per IP; refuse the IP once over the rate."""

    scope = "token_failure"

    def __init__(self, request):
        self.throttle = ValueLabThrottle(self.scope, per_ip=True)
        self.key = self.throttle.cache_format % {
            "scope": self.scope,
            "ident": f"ip-{client_ip(request) or 'unknown'}",
        }

    def check(self) -> None:
        """Raise ``Throttled`` while this IP has used up its failures."""
        if self.throttle.rate is None:
            return
        history = self._history()
        if len(history) >= self.throttle.num_requests:
            wait = self.throttle.duration - (self.throttle.timer() - history[-1])
            raise exceptions.Throttled(
                wait=max(1, math.ceil(wait)),
                detail="Too many failed token sign-ins from your address.",
            )

    def record_failure(self) -> None:
        if self.throttle.rate is None:
            return
        history = self._history()
        history.insert(0, self.throttle.timer())
        self.throttle.cache.set(self.key, history, self.throttle.duration)

    def _history(self) -> list[float]:
        now = self.throttle.timer()
        history = self.throttle.cache.get(self.key, [])
        return [moment for moment in history if moment > now - self.throttle.duration]


def wait_in_words(seconds: float) -> str:
    """Return ``seconds`` as people say it: "40 seconds", "3 minutes", "2 hours"."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = math.ceil(minutes / 60)
    return f"{hours} hour{'s' if hours != 1 else ''}"


def too_many_requests(request: HttpRequest, wait: float, *, reason: str) -> HttpResponse:
    """Return the 429 page: what was refused, and when to try again, in words."""
    seconds = max(1, math.ceil(wait or 1))
    response = render(
        request,
        "429.html",
        {"reason": reason, "wait": wait_in_words(seconds)},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response


REASONS = {
    "join": "Too many sign-ups from your network.",
    "llm": "You are sending messages faster than the interviewer can answer.",
}


def rate_limited(scope: str, *, per_ip: bool = False):
    """Decorate a page view: over the ``scope`` rate, answer the 429 page instead.

    ``per_ip`` counts per client IP even for a signed-in user (e.g. /join/, which signs in).
    """

    def decorate(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            throttle = ValueLabThrottle(scope, per_ip=per_ip)
            if not throttle.allow_request(request, None):
                reason = REASONS.get(scope, "Too many requests.")
                return too_many_requests(request, throttle.wait() or 1, reason=reason)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def login_lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """Answer a locked-out sign-in (django-axes' AXES_LOCKOUT_CALLABLE): 429 with the wait."""
    cool_off = settings.AXES_COOLOFF_TIME.total_seconds()
    return too_many_requests(
        request,
        cool_off,
        reason="Too many failed sign-ins for this account or from your network.",
    )


class LoginLockoutBackend(AxesStandaloneBackend):
    """django-axes' backend; a check without a request (a script, a test) is not a sign-in."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def upload_too_large(request: HttpRequest) -> str:
    """Return why the request's body is over ``VALUELAB_MAX_UPLOAD_MB``, or "" if it is not.

    Read from ``Content-Length`` before the body is parsed, so nothing big is received.
    """
    limit = settings.VALUELAB_MAX_UPLOAD_MB
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit * 1024 * 1024:
        return f"The upload is larger than the {limit:g} MB limit (VALUELAB_MAX_UPLOAD_MB)."
    return ""
