"""How much answers engage their prompts and resemble each other, read in the evaluator's own
encoder (mean-pooled, the pooling it scores with). Pure computation; torch is imported inside.

The distance to a target can fall by a collapse: a policy that gives every prompt the same stock
reply the evaluator likes (SmolLM2 aligned to a country vector answered 18 of 50 prompts "I'm
happy to engage in a friendly conversation…": engagement 0.59 → 0.06, sameness 0.09 → 0.82).
The report shows both numbers beside the distance; the ``engaged`` guard scores an answer that
ignores its prompt as saying nothing.
"""

from collections.abc import Sequence


def embed(evaluator, texts: Sequence[str], *, batch_size: int = 32):
    """Return the texts' unit-length embeddings in the evaluator's encoder (a torch tensor)."""
    import torch

    model, tokenizer = evaluator.model, evaluator.tokenizer
    device = next(model.encoder.parameters()).device
    max_length = evaluator.card.get("config", {}).get("max_length", 256)
    rows = []
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(
            list(texts[start : start + batch_size]),
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        ).to(device)
        with torch.inference_mode():
            rows.append(model.pool(batch).float())
    return torch.nn.functional.normalize(torch.cat(rows), dim=-1)


def closeness(
    evaluator, prompts: Sequence[str], responses: Sequence[str]
) -> tuple[list[float], float]:
    """Return each answer's engagement (the cosine between the prompt and its answer) and the
    answers' sameness (the mean cosine between answers to different prompts)."""
    n = len(responses)
    if n == 0:
        return [], 0.0
    asked, answered = embed(evaluator, prompts), embed(evaluator, responses)
    engagement = [float(value) for value in (asked * answered).sum(-1)]
    if n < 2:
        return engagement, 0.0
    pairs = answered @ answered.T
    return engagement, float((pairs.sum() - pairs.diagonal().sum()) / (n * n - n))


def answer_closeness(
    evaluator, prompts: Sequence[str], responses: Sequence[str]
) -> tuple[float, float]:
    """Return (engagement, sameness), the mean engagement and the sameness, rounded."""
    engagement, sameness = closeness(evaluator, prompts, responses)
    mean = sum(engagement) / len(engagement) if engagement else 0.0
    return round(mean, 4), round(sameness, 4)
