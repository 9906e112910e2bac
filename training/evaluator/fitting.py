"""Training the evaluator: class weights, the masked loss, batches, the fine-tuning loop
(``train``), the frozen-encoder head training on cached pooled embeddings (``fit``), and
evaluation on a split."""

import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from training.evaluator.model import (
    CLASSES,
    IGNORE,
    OnePassModel,
    Progress,
    TrainConfig,
    TrainReport,
    _device,
    load_base,
)
from training.labelled_data import Example, Splits
from training.metrics import dimension_metrics, summarise


def _targets(examples: Sequence[Example], dimensions: Sequence[str]):
    import torch

    rows = [
        [IGNORE if label is None else label + 1 for label in ex.vector(dimensions)]
        for ex in examples
    ]
    return torch.tensor(rows, dtype=torch.long)


def class_weights(examples: Sequence[Example], dimensions: Sequence[str], *, power: float = 1.0):
    """Return inverse-frequency weights per dimension and class (the 0 class dominates), raised
    to ``power`` (0.5: softened, so that the rare classes gain recall without losing accuracy)."""
    import torch

    counts = torch.ones(len(dimensions), len(CLASSES))  # +1 smoothing: no division by zero
    for example in examples:
        for index, label in enumerate(example.vector(dimensions)):
            if label is not None:
                counts[index, label + 1] += 1
    weights = counts.sum(1, keepdim=True) / (len(CLASSES) * counts)
    return weights.clamp(max=10.0) ** power


def masked_loss(logits, targets, weights):
    """Cross-entropy over labelled (item, dimension) cells, weighted per dimension and class."""
    import torch

    n_dims = logits.shape[1]
    total = logits.new_zeros(())
    cells = 0
    for dim in range(n_dims):
        known = targets[:, dim] != IGNORE
        if known.any():
            total = total + torch.nn.functional.cross_entropy(
                logits[known, dim], targets[known, dim], weight=weights[dim], reduction="sum"
            )
            cells += int(known.sum())
    return total / max(cells, 1)


def _batches(examples: Sequence[Example], size: int, *, shuffle: bool, seed: int):
    order = list(range(len(examples)))
    if shuffle:
        random.Random(seed).shuffle(order)
    for start in range(0, len(order), size):
        yield [examples[i] for i in order[start : start + size]]


def _encode(tokenizer, examples: Sequence[Example], max_length: int, device):
    encoded = tokenizer(
        [ex.prompt for ex in examples],
        [ex.response for ex in examples],
        truncation="longest_first",
        max_length=max_length,
        padding=True,
        return_tensors="pt",
    )
    return {key: value.to(device) for key, value in encoded.items()}


def predict_probabilities(
    model: OnePassModel, tokenizer, pairs, *, max_length: int, batch_size: int = 32
):
    """Return class probabilities of shape (n, dims, 3) for (prompt, response) pairs."""
    import torch

    device = next(model.head.parameters()).device
    model.train(False)
    chunks = []
    examples = [Example(id="", prompt=p, response=r, labels={}) for p, r in pairs]
    use_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    with (
        torch.inference_mode(),
        torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16),
    ):
        for batch in _batches(examples, batch_size, shuffle=False, seed=0):
            logits = model(_encode(tokenizer, batch, max_length, device))
            chunks.append(torch.softmax(logits.float(), dim=-1).cpu())
    if not chunks:
        return torch.zeros(0, model.n_dimensions, len(CLASSES))
    return torch.cat(chunks)


def evaluate(
    model,
    tokenizer,
    examples: Sequence[Example],
    config: TrainConfig,
    train_examples: Sequence[Example],
    *,
    probabilities=None,
    intervals: bool = True,
) -> dict[str, Any]:
    """Return per-dimension and overall metrics on ``examples``, with majority baselines
    (``probabilities``: the model's, already computed, shape (n, dims, 3))."""
    if probabilities is None:
        probabilities = predict_probabilities(
            model,
            tokenizer,
            [(ex.prompt, ex.response) for ex in examples],
            max_length=config.max_length,
            batch_size=config.batch_size * 2,
        )
    predicted = (probabilities.argmax(-1) - 1).tolist()
    per_dimension = {}
    for index, key in enumerate(config.dimensions):
        gold, guess, rows = [], [], []
        for row, example in enumerate(examples):
            label = example.labels.get(key)
            if label is not None:
                gold.append(label)
                guess.append(predicted[row][index])
                rows.append(row)
        train_labels = [ex.labels[key] for ex in train_examples if ex.labels.get(key) is not None]
        per_dimension[key] = dimension_metrics(gold, guess, train_labels, rows)
    return summarise(per_dimension, intervals=intervals)


def train(
    splits: Splits,
    config: TrainConfig,
    *,
    progress: Progress | None = None,
) -> tuple[OnePassModel, Any, TrainReport]:
    """Fine-tune the encoder and head; keep the epoch with the best validation macro-F1."""
    import torch

    torch.manual_seed(config.seed)
    random.seed(config.seed)
    device = _device()
    tokenizer, encoder = load_base(config.base_model)
    model = OnePassModel(encoder, len(config.dimensions)).to(device)
    weights = (
        class_weights(splits.train, config.dimensions, power=config.class_weight_power)
        if config.class_weighting
        else torch.ones(len(config.dimensions), len(CLASSES))
    ).to(device)
    if config.freeze_encoder:
        return _train_head(model, tokenizer, splits, config, weights, progress=progress)
    optimiser = torch.optim.AdamW(model.parameters_groups(config), weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(splits.train) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)

    def measure(split: str) -> dict:
        return evaluate(model, tokenizer, getattr(splits, split), config, splits.train)

    report = fit(
        model,
        optimiser,
        config=config,
        total_steps=total_steps,
        epoch_batches=lambda epoch: _batches(
            splits.train, config.batch_size, shuffle=True, seed=config.seed + epoch
        ),
        batch_loss=lambda batch: masked_loss(
            model(_encode(tokenizer, batch, config.max_length, device)),
            _targets(batch, config.dimensions).to(device),
            weights,
        ),
        validate=lambda: measure("validation"),
        measure=measure,
        progress=progress,
    )
    return model, tokenizer, report


# Set to a dict to keep the frozen encoder's pooled embeddings across trainings in this process,
# by (encoder, max_length, prompt, response): a sweep's folds and variants then encode each row
# once. None (a job, a command): each training encodes its rows and keeps nothing.
FEATURE_CACHE: dict[tuple, Any] | None = None


def pooled_features(
    model: OnePassModel, tokenizer, examples: Sequence[Example], config, cache: dict
):
    """Return the frozen encoder's pooled embeddings of ``examples`` (n, hidden), computing
    only those not in ``cache`` (and adding them to it)."""
    import torch

    device = next(model.head.parameters()).device
    name = (config.base_model, config.max_length)
    missing = list(
        {
            (ex.prompt, ex.response): ex
            for ex in examples
            if name + (ex.prompt, ex.response) not in cache
        }.values()
    )
    model.train(False)
    with torch.inference_mode():
        for batch in _batches(missing, config.batch_size * 2, shuffle=False, seed=0):
            pooled = model.pool(_encode(tokenizer, batch, config.max_length, device)).float()
            for ex, row in zip(batch, pooled.cpu(), strict=True):
                cache[name + (ex.prompt, ex.response)] = row.clone()
    if not examples:
        return torch.zeros(0, model.encoder.config.hidden_size)
    return torch.stack([cache[name + (ex.prompt, ex.response)] for ex in examples]).to(device)


def _head_probabilities(model: OnePassModel, features):
    import torch

    model.train(False)
    with torch.inference_mode():
        return torch.softmax(model.logits(features).float(), dim=-1).cpu()


def _train_head(model: OnePassModel, tokenizer, splits: Splits, config, weights, *, progress=None):
    """Train the head alone on the frozen encoder's cached embeddings (``freeze_encoder``)."""
    import torch

    for parameter in model.encoder.parameters():
        parameter.requires_grad_(False)
    cache = FEATURE_CACHE if FEATURE_CACHE is not None else {}
    features = {
        name: pooled_features(model, tokenizer, part, config, cache)
        for name, part in (
            ("train", splits.train),
            ("validation", splits.validation),
            ("test", splits.test),
        )
    }
    targets = _targets(splits.train, config.dimensions).to(features["train"].device)
    optimiser = torch.optim.AdamW(
        model.head.parameters(), lr=config.head_learning_rate, weight_decay=config.weight_decay
    )
    steps_per_epoch = math.ceil(len(splits.train) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)

    def metrics(name: str, examples: Sequence[Example], *, intervals: bool = True) -> dict:
        probabilities = _head_probabilities(model, features[name])
        return evaluate(
            model,
            tokenizer,
            examples,
            config,
            splits.train,
            probabilities=probabilities,
            intervals=intervals,
        )

    def batches(epoch: int):
        order = list(range(len(splits.train)))
        random.Random(config.seed + epoch).shuffle(order)
        for start in range(0, len(order), config.batch_size):
            yield order[start : start + config.batch_size]

    report = fit(
        model,
        optimiser,
        config=config,
        total_steps=total_steps,
        epoch_batches=batches,
        batch_loss=lambda rows: masked_loss(
            model.logits(features["train"][rows]), targets[rows], weights
        ),
        validate=lambda: metrics("validation", splits.validation, intervals=False),
        measure=lambda split: metrics(split, getattr(splits, split)),
        progress=progress,
    )
    return model, tokenizer, report


def fit(
    model,
    optimiser,
    *,
    config,
    total_steps: int,
    epoch_batches: Callable[[int], Iterable],
    batch_loss: Callable[[Any], Any],
    validate: Callable[[], dict],
    measure: Callable[[str], dict],
    progress: Progress | None = None,
) -> TrainReport:
    """Train a model with an ``encoder`` and a ``head`` epoch by epoch, both evaluator designs.

    Keep the epoch with the best validation macro-F1; stop after ``config.patience`` epochs
    without a gain or at ``config.max_steps``. Return the report: the kept model's metrics on
    the validation and test splits (``measure(split name)``), the history, and the speed.
    """
    import torch

    best_f1, best_state, best_epoch, stale = -1.0, None, 0, 0
    history: list[dict[str, float]] = []
    step, seen, started = 0, 0, time.monotonic()
    parameters = list(model.encoder.parameters()) + list(model.head.parameters())
    for epoch in range(1, config.epochs + 1):
        model.train(True)
        losses = []
        for batch in epoch_batches(epoch):
            loss = batch_loss(batch)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimiser.step()
            losses.append(float(loss.detach()))
            step += 1
            seen += len(batch)
            if progress:
                progress(step, total_steps, f"epoch {epoch}", {"loss": losses[-1]})
            if config.max_steps and step >= config.max_steps:
                break
        record = {
            "epoch": epoch,
            "loss": sum(losses) / max(len(losses), 1),
            "validation_macro_f1": validate()["overall"]["macro_f1"],
        }
        history.append(record)
        if record["validation_macro_f1"] > best_f1:
            best_f1, best_epoch, stale = record["validation_macro_f1"], epoch, 0
            best_state = _state(model)
        else:
            stale += 1
        if stale >= config.patience or (config.max_steps and step >= config.max_steps):
            break
    if best_state is not None:
        _restore(model, best_state)
    seconds = time.monotonic() - started
    return TrainReport.timed(
        metrics={name: measure(name) for name in ("validation", "test")},
        history=history,
        best_epoch=best_epoch,
        seconds=seconds,
        seen=seen,
    )


def _state(model: OnePassModel) -> dict:
    return {
        "encoder": {k: v.detach().clone() for k, v in model.encoder.state_dict().items()},
        "head": {k: v.detach().clone() for k, v in model.head.state_dict().items()},
    }


def _restore(model: OnePassModel, state: dict) -> None:
    model.encoder.load_state_dict(state["encoder"])
    model.head.load_state_dict(state["head"])
