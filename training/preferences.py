"""DPO preference data from the moral graph: (prompt, chosen, rejected) in TRL's format.

Each preference of the moral graph says that, in a context, one values card is wiser than
another. The policy answers the prompt twice, once guided by each card (a system prompt built
from the card); the answer guided by the wiser card is "chosen", the other "rejected". The
prompt of a pair never shows the card, so a DPO-trained model learns to answer that way unaided.

Pure ML code (no database); torch and transformers are imported inside functions.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.jsonl import JsonlError, jsonl_read, jsonl_write

FORMATS = ("conversational", "standard")


class PreferenceError(ValueError):
    """The preferences cannot be used; the message names the line and field."""


@dataclass(frozen=True)
class Pair:
    prompt: str
    context: str
    wiser: dict[str, Any]
    less_wise: dict[str, Any]
    meta: dict[str, Any]


def card_system_prompt(card: dict[str, Any], context: str = "") -> str:
    """Return a system prompt asking the policy to answer guided by the values card."""
    lines = ["You are a helpful assistant."]
    if context:
        lines.append(f"The situation: {context.strip().rstrip('.')}.")
    lines.append(f"Answer guided by this value: {card['title'].strip()}.")
    if card.get("description"):
        lines.append(card["description"].strip())
    policies = [p.strip() for p in card.get("policies") or [] if str(p).strip()]
    if policies:
        lines.append("When you answer, pay attention to:")
        lines.extend(f"- {policy}" for policy in policies)
    return "\n".join(lines)


def _card(value: Any, *, line: int, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PreferenceError(f"line {line}: {field}: expected a values card object")
    if not isinstance(value.get("title"), str) or not value["title"].strip():
        raise PreferenceError(f"line {line}: {field}.title: missing or empty")
    return value


def pairs_from_preferences(
    records: Iterable[dict[str, Any]],
    *,
    prompt_for: Callable[[dict], str | list[str] | None] | None = None,
) -> list[Pair]:
    """Return the pairs of the moral graph's preference lines: one per line and prompt.

    The prompt is the line's ``prompt`` (or ``question``) when it has one, else what
    ``prompt_for(line)`` returns (e.g. the questions asked in that context: one pair each),
    else the context itself.
    """
    pairs = []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise PreferenceError(f"line {number}: expected a JSON object")
        wiser = _card(record.get("wiser"), line=number, field="wiser")
        less_wise = _card(record.get("less_wise"), line=number, field="less_wise")
        context = record.get("context") or ""
        if not isinstance(context, str):
            raise PreferenceError(f"line {number}: context: expected text")
        prompts = record.get("prompt") or record.get("question")
        if not prompts and prompt_for:
            prompts = prompt_for(record)
        prompts = prompts or context
        for prompt in [prompts] if isinstance(prompts, str) else prompts:
            if not isinstance(prompt, str) or not prompt.strip():
                raise PreferenceError(f"line {number}: no prompt, question or context to ask")
            pairs.append(
                Pair(
                    prompt=prompt.strip(),
                    context=context,
                    wiser=wiser,
                    less_wise=less_wise,
                    meta={
                        "line": number,
                        "context_id": record.get("context_id"),
                        "wiser_id": wiser.get("id"),
                        "less_wise_id": less_wise.get("id"),
                        "counts": record.get("counts"),
                        "strength": record.get("strength"),
                        "rule": record.get("rule"),
                    },
                )
            )
    if not pairs:
        raise PreferenceError("there are no preferences to export")
    return pairs


def _card_key(card: Any) -> Any:
    if isinstance(card, dict):
        return card.get("id", card.get("title"))
    return None


def one_way_preferences(records: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Return the preference lines that never contradict another, and how many were left out.

    Two lines of one context naming the same two cards, wiser one way in one and the other way
    in the other (a two-value cycle, e.g. in an older export), are both left out; they are
    counted once, as one pair of that context.
    """
    directions: dict[tuple, set] = {}
    for record in records:
        if not isinstance(record, dict):
            continue
        wiser, less_wise = _card_key(record.get("wiser")), _card_key(record.get("less_wise"))
        context = record.get("context_id") or record.get("context")
        key = (repr(context), frozenset((repr(wiser), repr(less_wise))))
        directions.setdefault(key, set()).add((repr(wiser), repr(less_wise)))
    contradicted = {key for key, seen in directions.items() if len(seen) > 1}
    kept = [
        record
        for record in records
        if not isinstance(record, dict)
        or (
            repr(record.get("context_id") or record.get("context")),
            frozenset(
                (repr(_card_key(record.get("wiser"))), repr(_card_key(record.get("less_wise"))))
            ),
        )
        not in contradicted
    ]
    return kept, len(contradicted)


def read_preferences(path: str | Path) -> list[dict[str, Any]]:
    """Return the JSON objects of a preferences JSONL file, naming a bad line."""
    try:
        return [record for _, record in jsonl_read(path)]
    except JsonlError as error:
        raise PreferenceError(str(error)) from None


class CardGuidedPolicy:
    """A causal LM that answers a prompt under a card's system prompt (greedy by default)."""

    def __init__(self, policy: str, *, max_new_tokens: int = 128, temperature: float = 0.0):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(policy, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(policy, local_files_only=True)
        except (OSError, ValueError) as error:
            raise PreferenceError(f"cannot load policy {policy!r}: {error}") from None
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()
        torch.manual_seed(0)  # a resampled answer is the same on every run
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature

    def _inputs(self, system: str, prompt: str):
        if getattr(self.tokenizer, "chat_template", None):
            messages = [
                {"role": "system", "content": system},
                {"role": "user", "content": prompt},
            ]
            text = self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
        else:  # a base model: a plain transcript
            text = f"{system}\n\nUser: {prompt}\nAssistant:"
        return self.tokenizer(text, return_tensors="pt").to(self.device)

    def resample(self, system: str, prompt: str) -> str:
        """Return another answer, sampled (temperature 1.0 unless set higher): a second try when
        greedy decoding gave both cards of a pair the same text."""
        return self.answer(system, prompt, temperature=max(self.temperature, 1.0))

    def answer(self, system: str, prompt: str, *, temperature: float | None = None) -> str:
        import torch

        inputs = self._inputs(system, prompt)
        temperature = self.temperature if temperature is None else temperature
        sampling = temperature > 0
        with torch.inference_mode():
            output = self.model.generate(
                **inputs,
                max_new_tokens=self.max_new_tokens,
                do_sample=sampling,
                temperature=temperature if sampling else None,
                top_p=None,
                top_k=None,
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
        new_tokens = output[0, inputs["input_ids"].shape[1] :]
        return self.tokenizer.decode(new_tokens, skip_special_tokens=True).strip()


def preference_rows(
    pairs: Sequence[Pair],
    answer: Callable[[str, str], str],
    *,
    format: str = "conversational",
    progress: Callable[[int, int], None] | None = None,
    identical: list[Pair] | None = None,
    resample: Callable[[str, str], str] | None = None,
) -> list[dict[str, Any]]:
    """Return TRL preference rows: {"prompt", "chosen", "rejected"}.

    Conversational rows hold message lists (the prompt a user turn, chosen/rejected an
    assistant turn); standard rows hold plain text. Each (prompt, card) is answered once.
    A pair whose two answers are the same text teaches nothing: its rejected answer is asked
    again with ``resample`` (twice at most) when given, and the pair is dropped (appended to
    ``identical`` when given) if the texts still match. Chosen and rejected always differ.
    """
    if format not in FORMATS:
        raise PreferenceError(f"unknown format {format!r}; use {' or '.join(FORMATS)}")
    answers: dict[tuple[str, str], str] = {}

    def guided(card: dict, pair: Pair) -> str:
        system = card_system_prompt(card, pair.context)
        key = (system, pair.prompt)
        if key not in answers:
            answers[key] = answer(system, pair.prompt)
        return answers[key]

    rows = []
    for index, pair in enumerate(pairs, start=1):
        chosen, rejected = guided(pair.wiser, pair), guided(pair.less_wise, pair)
        for _attempt in range(2 if resample else 0):
            if chosen.strip() != rejected.strip():
                break
            rejected = resample(card_system_prompt(pair.less_wise, pair.context), pair.prompt)
        if chosen.strip() == rejected.strip():
            if identical is not None:
                identical.append(pair)
            if progress:
                progress(index, len(pairs))
            continue
        if format == "conversational":
            rows.append(
                {
                    "prompt": [{"role": "user", "content": pair.prompt}],
                    "chosen": [{"role": "assistant", "content": chosen}],
                    "rejected": [{"role": "assistant", "content": rejected}],
                }
            )
        else:
            rows.append({"prompt": pair.prompt, "chosen": chosen, "rejected": rejected})
        if progress:
            progress(index, len(pairs))
    return rows


def write_jsonl_atomic(rows: Iterable[dict[str, Any]], out: str | Path) -> Path:
    """Write rows as JSONL to ``out`` via a temporary file: a crash leaves no half file."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    jsonl_write(out, rows)
    return out
