"""System checks for core's settings: an unreachable broker or LLM endpoint warns at startup."""

import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register

DEFAULT_PORTS = {"redis": 6379, "rediss": 6379, "amqp": 5672, "pyamqp": 5672}


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
