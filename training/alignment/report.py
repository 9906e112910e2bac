"""The report of an alignment: greedy answers to held-out prompts before and after, their
distance to the target beside what saying nothing scores, the paired bootstrap interval of the
change, and FULCRA's Table 1 as one line."""

from collections.abc import Sequence
from typing import Any

from training.alignment.closeness import closeness
from training.alignment.prompts import prompt_format
from training.alignment.reward import BaseAlignReward, is_empty, is_repetitive


def generate_responses(
    model,
    tokenizer,
    prompts: Sequence[str],
    *,
    fmt: str,
    max_new_tokens: int,
    batch_size: int = 16,
) -> list[tuple[str, bool]]:
    """Return (greedy response, truncated?) per prompt, in the policy's prompt format.

    Batched with left padding, prompts of similar length together; ``truncated`` means the
    answer used every new token without ending.
    """
    import torch

    device = next(model.parameters()).device
    if fmt == "chat":
        texts = [
            tokenizer.apply_chat_template(
                [{"role": "user", "content": p}], add_generation_prompt=True, tokenize=False
            )
            for p in prompts
        ]
        special = False  # the template writes its own special tokens
    else:
        texts, special = list(prompts), True
    stops = set()
    for source in (tokenizer.eos_token_id, getattr(model.generation_config, "eos_token_id", None)):
        stops.update(source if isinstance(source, list) else [source] if source is not None else [])
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    results: list[tuple[str, bool]] = [("", False)] * len(texts)
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            inputs = tokenizer(
                [texts[i] for i in chunk],
                return_tensors="pt",
                padding=True,
                add_special_tokens=special,
            ).to(device)
            with torch.inference_mode():
                output = model.generate(
                    **inputs, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad
                )
            new = output[:, inputs["input_ids"].shape[1] :]
            for row, index in zip(new.tolist(), chunk, strict=True):
                ended = any(token in stops for token in row)
                text = tokenizer.decode(row, skip_special_tokens=True)
                results[index] = (text, not ended and len(row) >= max_new_tokens)
    finally:
        tokenizer.padding_side = side
    return results


def paired_bootstrap(
    before: Sequence[float], after: Sequence[float], *, resamples: int = 2000, seed: int = 13
) -> dict[str, Any]:
    """Return the mean change after − before over paired samples and its 95% percentile
    bootstrap interval (prompts resampled with their pair): {"mean", "ci": [lo, hi], "n"}."""
    import numpy as np

    changes = np.asarray(after, dtype=float) - np.asarray(before, dtype=float)
    n = len(changes)
    if n == 0:
        return {"mean": None, "ci": [None, None], "n": 0}
    rng = np.random.default_rng(seed)
    means = changes[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {
        "mean": round(float(changes.mean()), 4),
        "ci": [round(float(low), 4), round(float(high), 4)],
        "n": n,
    }


def alignment_report(
    model,
    tokenizer,
    reward: BaseAlignReward,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    fmt: str | None = None,
) -> dict[str, Any]:
    """Generate one greedy response per prompt; return the mean distance to the target (FULCRA's
    Table 1), what saying nothing scores, the shares of empty, truncated and repeated answers,
    how much the answers engage their prompts and resemble each other (``closeness``), the
    mean vector and label shares (Figure 8), and every sample."""
    fmt = fmt or prompt_format(tokenizer)
    generated = generate_responses(
        model, tokenizer, prompts, fmt=fmt, max_new_tokens=max_new_tokens
    )
    responses = [text for text, _ in generated]
    scores = reward.evaluator.score(list(zip(prompts, responses, strict=True)))
    empty_scores = reward.evaluator.score([(p, "") for p in prompts])
    vectors = [[row["expected"][key] for key in reward.dimensions] for row in scores]
    n = len(scores)
    # FULCRA's Figure 8: how often responses uphold (+1) or violate (-1) each value.
    shares = {
        key: {
            str(label): round(sum(row["labels"][key] == label for row in scores) / n, 4)
            for label in (-1, 0, 1)
        }
        for key in reward.dimensions
    }
    distances = [reward.distance_of(v) for v in vectors]
    empty_distances = [
        reward.distance_of([row["expected"][key] for key in reward.dimensions])
        for row in empty_scores
    ]
    flags = [
        {"empty": is_empty(text), "truncated": truncated, "repeated": is_repetitive(text)}
        for text, truncated in generated
    ]
    mean_vector = [sum(column) / n for column in zip(*vectors, strict=True)]
    engaged, sameness = closeness(reward.evaluator, prompts, responses)
    return {
        "n": n,
        "prompt_format": fmt,
        "mean_distance": round(sum(distances) / n, 4),
        "neutral_distance": round(reward.neutral, 4),
        "empty_answer_distance": round(sum(empty_distances) / n, 4),
        "empty_share": round(sum(f["empty"] for f in flags) / n, 4),
        "truncated_share": round(sum(f["truncated"] for f in flags) / n, 4),
        "repeated_share": round(sum(f["repeated"] for f in flags) / n, 4),
        "engagement": round(sum(engaged) / n, 4),
        "sameness": round(sameness, 4),
        "mean_vector": dict(
            zip(reward.dimensions, [round(v, 4) for v in mean_vector], strict=True)
        ),
        "label_shares": shares,
        "samples": [
            {"prompt": p, "response": r, "distance": round(d, 4), "engagement": round(e, 4)} | f
            for p, r, d, e, f in zip(prompts, responses, distances, engaged, flags, strict=True)
        ],
    }


def report_change(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Return the paired bootstrap of the per-prompt distance change (after − before)."""
    after_by_prompt = {s["prompt"]: s["distance"] for s in after.get("samples", [])}
    pairs = [
        (s["distance"], after_by_prompt[s["prompt"]])
        for s in before.get("samples", [])
        if s["prompt"] in after_by_prompt
    ]
    return paired_bootstrap([b for b, _ in pairs], [a for _, a in pairs])


def verdict(change: dict[str, Any] | None) -> str:
    """Return "closer" or "further" only when the change's interval excludes 0."""
    low, high = (change or {}).get("ci") or [None, None]
    if low is None or high is None:
        return "no interval"
    if high < 0:
        return "closer"
    if low > 0:
        return "further"
    return "no clear change"


def _percent(value: float | None) -> str:
    return "?" if value is None else f"{value:.0%}"


def _cosine(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}"


def table_line(card: dict[str, Any]) -> str:
    """Return FULCRA's Table 1 as one line: distance before → after, the change's interval, the
    verdict, what saying nothing scores, the shares of empty/truncated/repeated answers and how
    much the answers engage their prompts and resemble each other."""
    report = card.get("report", {})
    before, after = report.get("before", {}), report.get("after", {})
    change = report.get("change") or {}
    low, high = change.get("ci") or [None, None]
    interval = "?" if low is None else f"[{low:+.3f}, {high:+.3f}]"
    shares = ", ".join(
        f"{name} {_percent(before.get(key))} → {_percent(after.get(key))}"
        for name, key in (
            ("empty", "empty_share"),
            ("truncated", "truncated_share"),
            ("repeated", "repeated_share"),
        )
    )
    closeness = ", ".join(
        f"{name} {_cosine(before.get(key))} → {_cosine(after.get(key))}"
        for name, key in (("engages the prompt", "engagement"), ("answers alike", "sameness"))
    )
    return (
        f"mean distance to the target ({card.get('config', {}).get('distance', 'l2')}, "
        f"{change.get('n', '?')} held-out prompts): "
        f"{before.get('mean_distance')} → {after.get('mean_distance')}, "
        f"change {change.get('mean')} 95% CI {interval}: {verdict(change)}; "
        f"saying nothing {before.get('neutral_distance')} "
        f"(the evaluator's empty answer {before.get('empty_answer_distance')}); {shares}; "
        f"{closeness}"
    )
