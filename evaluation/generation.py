"""Ask a subject for its responses: through the LLM gateway (``llm.chat_each`` with the subject's
endpoint: its retries, budget, call records and per-endpoint concurrency slots), with
transformers for a local policy folder.

No rows of this app are written here: the caller stores what comes back. Requests to an
endpoint go through ``llm.chat_each``: at most the subject's ``concurrency`` (else
VALUELAB_LLM_CONCURRENCY) in flight, every call recorded on the caller's thread.
"""

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from core import llm
from core.llm import LLMError, LLMUnavailable

PURPOSE = "evaluation.generate"


@dataclass(frozen=True)
class SubjectSpec:
    """What generation needs of a subject (a model row or the command's arguments)."""

    kind: str  # "endpoint" or "policy"
    endpoint: str = ""
    model: str = ""
    api_key_env: str = ""
    policy_path: str = ""
    temperature: float | None = 0.0
    max_tokens: int | None = 256
    system: str = ""
    concurrency: int | None = None  # requests in flight; None: VALUELAB_LLM_CONCURRENCY

    @classmethod
    def of(cls, subject) -> "SubjectSpec":
        generation = subject.generation or {}
        return cls(
            kind=subject.kind,
            endpoint=subject.endpoint,
            model=subject.model,
            api_key_env=subject.api_key_env,
            policy_path=subject.policy_path,
            temperature=generation.get("temperature", 0.0),
            max_tokens=generation.get("max_tokens", 256),
            system=generation.get("system", ""),
            concurrency=generation.get("concurrency"),
        )


@dataclass(frozen=True)
class Generated:
    """One prompt's outcome: ``text`` and ``model`` when it worked, ``error`` when not."""

    index: int
    text: str = ""
    model: str = ""
    attempts: int = 1
    error: LLMError | None = None

    @property
    def endpoint_down(self) -> bool:
        """Whether the endpoint itself failed (refused to connect, timed out, kept erroring):
        the run should pause rather than mark every prompt failed."""
        return isinstance(self.error, LLMUnavailable)


def messages_for(spec: SubjectSpec, prompt: str) -> list[dict]:
    messages = [{"role": "system", "content": spec.system}] if spec.system else []
    return messages + [{"role": "user", "content": prompt}]


def generate(
    spec: SubjectSpec,
    prompts: Sequence[str],
    *,
    stop: Callable[[], bool] | None = None,
) -> Iterator[Generated]:
    """Yield a ``Generated`` per prompt, in the order they finish.

    Stops early (yielding what finished) when the endpoint is down or ``stop()`` says so.
    """
    if spec.kind == "policy":
        yield from _generate_policy(spec, prompts, stop=stop)
        return
    replies = llm.chat_each(
        [messages_for(spec, prompt) for prompt in prompts],
        purpose=PURPOSE,
        ask=llm.Generation(spec.model or None, spec.temperature, spec.max_tokens),
        endpoint=spec.endpoint,
        api_key=os.environ.get(spec.api_key_env, "") if spec.api_key_env else "",
        concurrency=spec.concurrency,
        stop=stop,
    )
    for index, reply in replies:
        if isinstance(reply, LLMError):
            yield Generated(index=index, error=reply, attempts=reply.attempts)
        else:
            yield Generated(
                index=index, text=reply.text, model=reply.model, attempts=reply.attempts
            )


# --- local policy folders -------------------------------------------------------------------------

_policy_lock = threading.Lock()


@lru_cache(maxsize=2)
def _policy(path: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"  # generation continues on the right
    model.train(False)
    return tokenizer, model


def _policy_inputs(tokenizer, spec: SubjectSpec, prompts: Sequence[str]):
    if getattr(tokenizer, "chat_template", None):
        texts = [
            tokenizer.apply_chat_template(
                messages_for(spec, prompt), tokenize=False, add_generation_prompt=True
            )
            for prompt in prompts
        ]
    else:
        texts = list(prompts)
    return tokenizer(texts, return_tensors="pt", padding=True)


def _generate_policy(
    spec: SubjectSpec, prompts: Sequence[str], *, stop, batch_size: int = 8
) -> Iterator[Generated]:
    import torch

    try:
        with _policy_lock:
            tokenizer, model = _policy(spec.policy_path)
    except (OSError, ValueError) as error:
        failure = LLMUnavailable(f"cannot load the policy {spec.policy_path}: {error}", attempts=1)
        yield Generated(index=0, error=failure)
        return
    name = os.path.basename(spec.policy_path.rstrip("/"))
    device = next(model.parameters()).device
    sampling = bool(spec.temperature)
    for start in range(0, len(prompts), batch_size):
        batch = list(prompts[start : start + batch_size])
        inputs = _policy_inputs(tokenizer, spec, batch).to(device)
        with torch.inference_mode():
            output = model.generate(
                **inputs,
                max_new_tokens=spec.max_tokens or 256,
                do_sample=sampling,
                temperature=spec.temperature if sampling else None,
                top_p=None,
                top_k=None,
                pad_token_id=tokenizer.pad_token_id,
            )
        new_tokens = output[:, inputs["input_ids"].shape[1] :]
        for offset, row in enumerate(new_tokens):
            text = tokenizer.decode(row, skip_special_tokens=True)
            yield Generated(index=start + offset, text=text, model=name)
        if stop and stop():
            return
