"""Ask a subject for its responses: through the LLM gateway's backends (retries, per-endpoint
concurrency slots, call records) for endpoints, with transformers for a local policy folder.

No rows of this app are written here: the caller stores what comes back. Requests to an
endpoint run in threads (at most VALUELAB_LLM_CONCURRENCY in flight, the gateway's slots bound
them across processes too); the threads touch no database, and every call is recorded on the
caller's thread.
"""

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from urllib.parse import urlsplit

from core.llm import LLMError, LLMUnavailable, gateway, slots
from core.llm.openai_backend import PLACEHOLDER_KEY, OpenAIBackend, _client

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


class EndpointBackend(OpenAIBackend):
    """The gateway's OpenAI backend pointed at a subject's own endpoint and key."""

    def __init__(self, base_url: str, api_key: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.api_key = api_key or PLACEHOLDER_KEY
        parts = urlsplit(base_url)
        self.host = parts.netloc or base_url
        self.client = _client(self.base_url, self.api_key, self.timeout)


def backend_for(spec: SubjectSpec):
    """Return the backend that answers for ``spec`` (its endpoint, or the configured LLM)."""
    if spec.endpoint:
        key = os.environ.get(spec.api_key_env, "") if spec.api_key_env else ""
        return EndpointBackend(spec.endpoint, key)
    return gateway.get_backend()


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
    backend = backend_for(spec)
    model = backend.chat_model(spec.model or None)
    workers = slots.concurrency() if backend.name == "openai" else 1
    pending: dict = {}
    halt = threading.Event()

    def ask(index: int) -> Generated:
        if halt.is_set():
            return Generated(index=index, error=None, attempts=0)
        try:
            result = backend.chat(
                messages_for(spec, prompts[index]),
                model=model,
                temperature=spec.temperature,
                max_tokens=spec.max_tokens,
            )
        except LLMError as error:
            return Generated(index=index, error=error, attempts=error.attempts)
        return Generated(
            index=index, text=result.text, model=result.model, attempts=result.attempts
        )

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="evaluation-gen") as pool:
        order = iter(range(len(prompts)))
        # Keep a bounded window in flight, so a stop or an outage wastes little.
        for index in islice(order, workers * 2):
            pending[pool.submit(ask, index)] = _call(backend, model)
        while pending:
            done = next(iter(_first_done(pending)))
            call = pending.pop(done)
            outcome = done.result()
            if outcome.attempts == 0 and outcome.error is None:
                continue  # skipped after a halt: never sent
            _record(call, outcome)
            yield outcome
            if outcome.endpoint_down or (stop and stop()):
                halt.set()
                continue
            if not halt.is_set():
                index = next(order, None)
                if index is not None:
                    pending[pool.submit(ask, index)] = _call(backend, model)


def _first_done(pending: dict):
    from concurrent.futures import FIRST_COMPLETED, wait

    done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
    return done


def _call(backend, model: str):
    return gateway._Call(
        kind="chat", purpose=PURPOSE, backend=backend, model=model, user=None, study=None
    )


def _record(call, outcome: Generated) -> None:
    if outcome.error is not None:
        call.failed(outcome.error)
    else:
        call.succeeded(
            model=outcome.model, prompt_tokens=0, completion_tokens=0, attempts=outcome.attempts
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
