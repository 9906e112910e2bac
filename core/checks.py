"""System checks for core's settings: an unreachable broker or LLM endpoint warns at startup."""

import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

DEFAULT_PORTS = {"redis": 6379, "rediss": 6379, "amqp": 5672, "pyamqp": 5672}


def number_setting_errors(
    name: str,
    *,
    default: float | None,
    check_id: str,
    whole: bool = False,
    at_least: float | None = None,
    above: float | None = None,
    at_most: float | None = None,
) -> list[Error]:
    """Return an error naming setting ``name`` unless it is a number in the range given.

    ``whole`` asks for an int; ``at_least``/``above`` and ``at_most`` bound it. A setting left
    unset (``default``) is checked as its default; None is allowed where the default is None.
    """
    value = getattr(settings, name, default)
    if value is None and default is None:
        return []
    kinds = (int,) if whole else (int, float)
    in_range = (
        not isinstance(value, bool)
        and isinstance(value, kinds)
        and (at_least is None or value >= at_least)
        and (above is None or value > above)
        and (at_most is None or value <= at_most)
    )
    if in_range:
        return []
    if above is not None and at_most is not None:
        wanted = f"a number above {above:g} and at most {at_most:g}"
    elif at_least is not None and at_most is not None:
        wanted = f"a number from {at_least:g} to {at_most:g}"
    else:
        wanted = f"a whole number of at least {at_least:g}" if whole else f"at least {at_least:g}"
    unset = " or unset" if default is None else ""
    return [Error(f"{name} must be {wanted}{unset}, not {value!r}.", id=check_id)]


def tcp_reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    """Return whether a TCP connection to ``host:port`` opens within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@register(Tags.compatibility, deploy=False)
def check_celery_broker(app_configs, **kwargs):
    url = settings.CELERY_BROKER_URL
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        return []
    host, port = parts.hostname or "localhost", parts.port or DEFAULT_PORTS[parts.scheme]
    if tcp_reachable(host, port):
        return []
    return [
        Warning(
            f"The Celery broker at {host}:{port} does not answer; jobs will wait until it does.",
            hint="Start it, or unset CELERY_BROKER_URL to use the embedded filesystem broker.",
            id="core.W003",
        )
    ]


@register(Tags.database, deploy=True)
def check_database_pool_size(app_configs, **kwargs):
    """Warn when the web workers' pools could open more PostgreSQL connections than it allows."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return []
    workers = getattr(settings, "VALUELAB_WEB_WORKERS", 3)
    size = getattr(settings, "DATABASE_POOL_SIZE", 16)
    limit = getattr(settings, "DATABASE_MAX_CONNECTIONS", 100)
    if workers * size < limit:
        return []
    return [
        Warning(
            f"{workers} web workers x DATABASE_POOL_SIZE {size} = {workers * size} connections, "
            f"not below PostgreSQL's max_connections ({limit}), before Celery's.",
            hint="Lower DATABASE_POOL_SIZE, or set WEB_CONCURRENCY (gunicorn's --workers) and "
            "DATABASE_MAX_CONNECTIONS (the server's max_connections) to what runs.",
            id="core.W004",
        )
    ]
