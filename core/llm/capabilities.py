"""What each endpoint can do, discovered by calling it and remembered for a while.

One entry per endpoint URL and model: the structured-output mode that worked (``json_schema``,
``json_object`` with the schema, or plain JSON ``instructions``), whether auto tool calls are
accepted, the context size learned from a "context exceeded" refusal, and the shape its
embeddings come in (``flat`` or ``per_token`` rows that the gateway mean-pools). Kept in Django's
cache for VALUELAB_LLM_CAPABILITY_TTL seconds (a day by default), so a server that is upgraded
or restarted with other options is probed again; "Check the LLM" shows the entry.
"""

import hashlib
from dataclasses import asdict, dataclass, replace

from django.conf import settings
from django.core.cache import cache

STRUCTURED_MODES = ("json_schema", "json_object", "instructions")
KEY_PREFIX = "valuelab:llm-capabilities:"


@dataclass(frozen=True)
class Capabilities:
    """What is known about one endpoint + model (None: not found out yet)."""

    structured_mode: str | None = None
    auto_tools: bool | None = None
    context_tokens: int | None = None
    embedding_shape: str | None = None
    embedding_dimensions: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _key(base_url: str, model: str) -> str:
    digest = hashlib.sha256(f"{base_url.rstrip('/')}|{model}".encode()).hexdigest()[:32]
    return KEY_PREFIX + digest


def _ttl() -> int:
    return max(1, int(getattr(settings, "VALUELAB_LLM_CAPABILITY_TTL", 86400)))


def capabilities_for(base_url: str, model: str) -> Capabilities:
    """Return what is remembered about ``model`` at ``base_url`` (empty when nothing is)."""
    stored = cache.get(_key(base_url, model))
    if not isinstance(stored, dict):
        return Capabilities()
    known = {name: stored.get(name) for name in Capabilities.__dataclass_fields__}
    return Capabilities(**known)


def remember(base_url: str, model: str, **found) -> Capabilities:
    """Record what a call found out about ``model`` at ``base_url``; return the whole entry."""
    entry = replace(capabilities_for(base_url, model), **found)
    cache.set(_key(base_url, model), entry.as_dict(), _ttl())
    return entry


def forget(base_url: str, model: str) -> None:
    """Drop the entry, so the next call probes the endpoint again."""
    cache.delete(_key(base_url, model))
