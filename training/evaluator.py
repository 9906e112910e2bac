"""The value evaluator, one-pass design: an encoder reads prompt + response, a head predicts
-1 / 0 / +1 for every dimension of the scheme at once.

Pure ML code (no database): train, evaluate, save, load and score. torch and transformers are
imported inside functions so that importing this module (from a Celery worker parent, a view) is
cheap and never runs a torch operation before a fork.
"""

import json
import math
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from training.labelled_data import Example, Splits
from training.metrics import dimension_metrics, summarise

CLASSES = (-1, 0, 1)
IGNORE = -100
CARD_FILE = "evaluator.json"
HEAD_FILE = "head.safetensors"


class EvaluatorError(ValueError):
    """The evaluator cannot be trained or loaded as asked; the message says why."""


@dataclass
class TrainConfig:
    """The defaults are the variant bench/bench_evaluator_sweep.py chose on the FULCRA rows
    (``CHOSEN`` there): the head alone on the frozen encoder's embeddings of 256 tokens, softened
    class weights, up to 60 epochs. ``FINE_TUNE`` gives the settings that train the encoder too."""

    base_model: str
    dimensions: list[str]
    scheme: str = "schwartz10"
    max_length: int = 256
    batch_size: int = 16
    epochs: int = 60
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    patience: int = 8
    seed: int = 13
    max_steps: int | None = None  # stop early (smoke runs, tests)
    class_weighting: bool = True  # inverse-frequency class weights in the loss (0 dominates)
    class_weight_power: float = 0.5  # the weights raised to this (1: full inverse frequency)
    # Train the head alone on the encoder's pooled embeddings, computed once (minutes on a CPU
    # where fine-tuning the encoder takes hours); the encoder is saved as it was loaded.
    freeze_encoder: bool = True


# Fine-tuning the encoder as well (design "one-pass"): the settings it was built with.
FINE_TUNE = {"freeze_encoder": False, "epochs": 4, "patience": 2}


@dataclass
class TrainReport:
    metrics: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0
    samples_per_second: float = 0.0


Progress = Callable[[int, int, str, dict[str, float]], None]


def _device():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_base(base_model: str):
    """Return (tokenizer, encoder) from an alias (``minilm``), a local folder or a hub name
    (cached, or downloaded when the hub can be reached)."""
    from transformers import AutoModel, AutoTokenizer

    from training.basemodels import ModelNotFound, resolve

    try:
        base_model = resolve(base_model)
    except ModelNotFound as error:
        raise EvaluatorError(f"cannot load base model: {error}") from None

    local_only = os.environ.get("HF_HUB_OFFLINE") == "1" or Path(base_model).exists()
    try:
        tokenizer = AutoTokenizer.from_pretrained(base_model, local_files_only=local_only)
        encoder = AutoModel.from_pretrained(base_model, local_files_only=local_only)
    except (OSError, ValueError) as error:
        raise EvaluatorError(f"cannot load base model {base_model!r}: {error}") from None
    return tokenizer, encoder


ENCODER_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class PooledHeadModel:
    """An encoder, a dropout and a linear head over its mean-pooled tokens (set by subclasses),
    moved to a device and switched between training and evaluation together."""

    encoder: Any
    head: Any
    dropout: Any

    def to(self, device):
        self.encoder.to(device)
        self.head.to(device)
        return self

    def train(self, mode: bool = True) -> None:
        self.encoder.train(mode)
        self.head.train(mode)
        self.dropout.train(mode)

    def pool(self, batch: dict):
        """Return the encoder's tokens averaged by the attention mask."""
        inputs = {k: v for k, v in batch.items() if k in ENCODER_INPUTS}
        hidden = self.encoder(**inputs).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def head_logits(self, batch: dict):
        """Return the head's output over the encoder's tokens averaged by the attention mask."""
        return self.head(self.dropout(self.pool(batch)).to(self.head.weight.dtype))


class OnePassModel(PooledHeadModel):
    """Encoder + linear head over the mean-pooled tokens: logits of shape (batch, dims, 3)."""

    def __init__(self, encoder, n_dimensions: int):
        import torch

        self.encoder = encoder
        self.n_dimensions = n_dimensions
        self.dropout = torch.nn.Dropout(0.1)
        self.head = torch.nn.Linear(encoder.config.hidden_size, n_dimensions * len(CLASSES))

    def parameters_groups(self, config: TrainConfig) -> list[dict]:
        return [
            {"params": self.encoder.parameters(), "lr": config.learning_rate},
            {"params": self.head.parameters(), "lr": config.head_learning_rate},
        ]

    def __call__(self, batch: dict):
        return self.logits(self.pool(batch))

    def logits(self, pooled):
        """Return the head's logits, shape (batch, dims, 3), over pooled embeddings."""
        logits = self.head(self.dropout(pooled).to(self.head.weight.dtype))
        return logits.view(-1, self.n_dimensions, len(CLASSES))


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
    history, best_epoch, seen, seconds = fit(
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
        validate=lambda: evaluate(model, tokenizer, splits.validation, config, splits.train),
        progress=progress,
    )
    metrics = {
        "validation": evaluate(model, tokenizer, splits.validation, config, splits.train),
        "test": evaluate(model, tokenizer, splits.test, config, splits.train),
    }
    report = TrainReport(
        metrics=metrics,
        history=history,
        best_epoch=best_epoch,
        seconds=round(seconds, 2),
        samples_per_second=round(seen / seconds, 2) if seconds else 0.0,
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

    history, best_epoch, seen, seconds = fit(
        model,
        optimiser,
        config=config,
        total_steps=total_steps,
        epoch_batches=batches,
        batch_loss=lambda rows: masked_loss(
            model.logits(features["train"][rows]), targets[rows], weights
        ),
        validate=lambda: metrics("validation", splits.validation, intervals=False),
        progress=progress,
    )
    report = TrainReport(
        metrics={
            "validation": metrics("validation", splits.validation),
            "test": metrics("test", splits.test),
        },
        history=history,
        best_epoch=best_epoch,
        seconds=round(seconds, 2),
        samples_per_second=round(seen / seconds, 2) if seconds else 0.0,
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
    progress: Progress | None = None,
) -> tuple[list[dict[str, float]], int, int, float]:
    """Train a model with an ``encoder`` and a ``head`` epoch by epoch, both evaluator designs.

    Keep the epoch with the best validation macro-F1; stop after ``config.patience`` epochs
    without a gain or at ``config.max_steps``. Return (history, best epoch, samples seen,
    seconds).
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
    return history, best_epoch, seen, time.monotonic() - started


def _state(model: OnePassModel) -> dict:
    return {
        "encoder": {k: v.detach().clone() for k, v in model.encoder.state_dict().items()},
        "head": {k: v.detach().clone() for k, v in model.head.state_dict().items()},
    }


def _restore(model: OnePassModel, state: dict) -> None:
    model.encoder.load_state_dict(state["encoder"])
    model.head.load_state_dict(state["head"])


def save(
    model: OnePassModel,
    tokenizer,
    out: str | Path,
    *,
    config: TrainConfig,
    report: TrainReport,
    dataset: dict[str, Any],
) -> Path:
    """Write the evaluator to ``out`` atomically: a crash leaves no half-written model there."""
    card = {
        "design": "one-pass",
        "scheme": config.scheme,
        "dimensions": config.dimensions,
        "classes": list(CLASSES),
    } | training_card(config=config, report=report, dataset=dataset)
    return write_model(model, tokenizer, out, card=card)


def training_card(*, config, report: TrainReport, dataset: dict[str, Any]) -> dict[str, Any]:
    """Return what every evaluator's card says of its training (after its design's own keys)."""
    return {
        "base_model": config.base_model,
        "config": asdict(config),
        "dataset": dataset,
        "metrics": report.metrics,
        "history": report.history,
        "best_epoch": report.best_epoch,
        "train_seconds": report.seconds,
        "train_samples_per_second": report.samples_per_second,
        "git_revision": _git_revision(),
    }


def write_model(model, tokenizer, out: str | Path, *, card: dict[str, Any]) -> Path:
    """Write an evaluator (encoder, head, card) to ``out`` atomically: a crash or a rival job
    leaves ``out`` as it was, and an existing ``out`` is never overwritten."""
    from safetensors.torch import save_file

    out = Path(out)
    if out.exists():
        raise EvaluatorError(f"{out} exists already; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        model.encoder.save_pretrained(scratch / "encoder")
        tokenizer.save_pretrained(scratch / "encoder")
        save_file(
            {k: v.contiguous().cpu() for k, v in model.head.state_dict().items()},
            str(scratch / HEAD_FILE),
        )
        (scratch / CARD_FILE).write_text(json.dumps(card, indent=2))
        os.rename(scratch, out)  # fails if a concurrent job took the name: never clobbers
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return out


def _git_revision() -> str | None:
    head = Path(__file__).resolve().parents[1] / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            return (head.parent / ref[5:]).read_text().strip()
        return ref
    except OSError:
        return None


@dataclass
class Evaluator:
    """A trained evaluator loaded for scoring."""

    model: OnePassModel
    tokenizer: Any
    card: dict[str, Any]

    @property
    def dimensions(self) -> list[str]:
        return self.card["dimensions"]

    def score(self, pairs: Sequence[tuple[str, str]], *, batch_size: int = 32) -> list[dict]:
        """Return, per (prompt, response), the label per dimension and its expected value.

        ``expected`` is P(+1) − P(−1), the probability-weighted label: the BaseAlign reward
        uses it, since argmax labels often tie across a group of completions.
        """
        probabilities = predict_probabilities(
            self.model,
            self.tokenizer,
            pairs,
            max_length=self.card["config"]["max_length"],
            batch_size=batch_size,
        )
        results = []
        for row in probabilities:
            labels = (row.argmax(-1) - 1).tolist()
            expected = (row[:, 2] - row[:, 0]).tolist()
            results.append(
                {
                    "labels": dict(zip(self.dimensions, labels, strict=True)),
                    "expected": {
                        k: round(v, 4) for k, v in zip(self.dimensions, expected, strict=True)
                    },
                }
            )
        return results


def load_card(directory: str | Path) -> dict[str, Any]:
    """Return the model card of the evaluator in ``directory``."""
    card_path = Path(directory) / CARD_FILE
    if not card_path.is_file():
        raise EvaluatorError(f"{directory} is not an evaluator (no {CARD_FILE})")
    return json.loads(card_path.read_text())


def load(directory: str | Path) -> Evaluator:
    """Load an evaluator written by ``save`` (or by ``conditioned.save``: same interface)."""
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    directory = Path(directory)
    card = load_card(directory)
    if card.get("design") == "value-conditioned":
        from training import conditioned

        return conditioned.load(directory)
    tokenizer = AutoTokenizer.from_pretrained(directory / "encoder", local_files_only=True)
    encoder = AutoModel.from_pretrained(directory / "encoder", local_files_only=True)
    model = OnePassModel(encoder, len(card["dimensions"]))
    model.head.load_state_dict(load_file(str(directory / HEAD_FILE)))
    model.to(_device())
    model.train(False)
    return Evaluator(model=model, tokenizer=tokenizer, card=card)
