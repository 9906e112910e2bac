"""The value evaluator, value-conditioned design (FULCRA's): an encoder reads a value's
definition beside the dialogue and predicts -1 / 0 / +1 for that one value.

One forward pass per (dialogue, value), so scoring ten values costs ten passes where the
one-pass design needs one; in exchange a value the model never saw in training can be scored
from its definition alone. Same interface as ``training.evaluator``: ``train``, ``save``,
``load``, and an evaluator whose ``score(pairs)`` returns labels and expected labels.

Pure ML code (no database); torch and transformers are imported inside functions.
"""

import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.evaluator import (
    CARD_FILE,
    CLASSES,
    HEAD_FILE,
    EncoderTraining,
    PooledHeadModel,
    Progress,
    TrainReport,
    _device,
    fit,
    load_base,
    training_card,
    write_model,
)
from training.labelled_data import Example, Splits
from training.metrics import dimension_metrics, summarise

DESIGN = "value-conditioned"


@dataclass(kw_only=True)
class ConditionedConfig(EncoderTraining):
    """The value-conditioned design's settings: fewer epochs (ten passes per dialogue)."""

    definitions: dict[str, str]  # every value's definition (held-out ones too)
    epochs: int = 2
    patience: int = 2
    # Most (dialogue, value) cells are 0: keep this many 0-cells per labelled non-0 cell in
    # training (None keeps all). The loss is class-weighted either way.
    zero_ratio: float | None = 2.0


@dataclass(frozen=True)
class Cell:
    definition: str
    prompt: str
    response: str
    label: int | None
    dimension: str


def cells(
    examples: Sequence[Example], dimensions: Sequence[str], definitions: dict[str, str]
) -> list[Cell]:
    """Return one (definition, dialogue, label) cell per example and labelled dimension."""
    return [
        Cell(definitions[key], ex.prompt, ex.response, ex.labels.get(key), key)
        for ex in examples
        for key in dimensions
        if ex.labels.get(key) is not None
    ]


def _thin_zeros(train_cells: list[Cell], ratio: float | None, seed: int) -> list[Cell]:
    if ratio is None:
        return train_cells
    non_zero = [c for c in train_cells if c.label != 0]
    zeros = [c for c in train_cells if c.label == 0]
    random.Random(seed).shuffle(zeros)
    return non_zero + zeros[: int(max(len(non_zero), 1) * ratio)]


class ConditionedModel(PooledHeadModel):
    """Encoder + a 3-way head over the mean-pooled (definition, dialogue) tokens."""

    def __init__(self, encoder):
        import torch

        self.encoder = encoder
        self.dropout = torch.nn.Dropout(0.1)
        self.head = torch.nn.Linear(encoder.config.hidden_size, len(CLASSES))

    def __call__(self, batch: dict):
        return self.head_logits(batch)


def _encode(tokenizer, batch: Sequence[Cell], max_length: int, device):
    encoded = tokenizer(
        [c.definition for c in batch],
        [f"{c.prompt}\n{c.response}" for c in batch],
        truncation="longest_first",  # the dialogue is the longer part: it is trimmed first
        max_length=max_length,
        padding=True,
        return_tensors="pt",
    )
    return {key: value.to(device) for key, value in encoded.items()}


def predict_probabilities(model, tokenizer, batch_cells: Sequence[Cell], *, max_length, batch_size):
    """Return class probabilities, shape (n, 3), one row per cell."""
    import torch

    device = next(model.head.parameters()).device
    model.train(False)
    use_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    chunks = []
    with (
        torch.inference_mode(),
        torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16),
    ):
        for start in range(0, len(batch_cells), batch_size):
            part = batch_cells[start : start + batch_size]
            logits = model(_encode(tokenizer, part, max_length, device))
            chunks.append(torch.softmax(logits.float(), dim=-1).cpu())
    return torch.cat(chunks) if chunks else torch.zeros(0, len(CLASSES))


def evaluate(model, tokenizer, examples, dimensions, config, train_examples) -> dict[str, Any]:
    """Return per-dimension and overall metrics (with majority baselines) on ``examples``."""
    per_dimension = {}
    for key in dimensions:
        labelled = [ex for ex in examples if ex.labels.get(key) is not None]
        test_cells = cells(labelled, [key], config.definitions)
        probabilities = predict_probabilities(
            model,
            tokenizer,
            test_cells,
            max_length=config.max_length,
            batch_size=config.batch_size * 2,
        )
        guess = (probabilities.argmax(-1) - 1).tolist()
        train_labels = [ex.labels[key] for ex in train_examples if ex.labels.get(key) is not None]
        rows = [row for row, ex in enumerate(examples) if ex.labels.get(key) is not None]
        per_dimension[key] = dimension_metrics(
            [c.label for c in test_cells], guess, train_labels, rows
        )
    return summarise(per_dimension)


def train(splits: Splits, config: ConditionedConfig, *, progress: Progress | None = None):
    """Fine-tune on (definition, dialogue) cells of ``config.dimensions``; keep the epoch with
    the best validation macro-F1. Return (model, tokenizer, report)."""
    import torch

    torch.manual_seed(config.seed)
    device = _device()
    tokenizer, encoder = load_base(config.base_model)
    model = ConditionedModel(encoder).to(device)
    train_cells = _thin_zeros(
        cells(splits.train, config.dimensions, config.definitions), config.zero_ratio, config.seed
    )
    counts = torch.ones(len(CLASSES))
    for cell in train_cells:
        counts[cell.label + 1] += 1
    weights = (counts.sum() / (len(CLASSES) * counts)).clamp(max=10.0).to(device)
    optimiser = torch.optim.AdamW(
        [
            {"params": encoder.parameters(), "lr": config.learning_rate},
            {"params": model.head.parameters(), "lr": config.head_learning_rate},
        ],
        weight_decay=config.weight_decay,
    )
    total_steps = math.ceil(len(train_cells) / config.batch_size) * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)

    def epoch_batches(epoch: int):
        order = list(range(len(train_cells)))
        random.Random(config.seed + epoch).shuffle(order)
        for start in range(0, len(order), config.batch_size):
            yield [train_cells[i] for i in order[start : start + config.batch_size]]

    def batch_loss(batch):
        logits = model(_encode(tokenizer, batch, config.max_length, device))
        targets = torch.tensor([c.label + 1 for c in batch], device=device)
        return torch.nn.functional.cross_entropy(logits, targets, weight=weights)

    def measure(split: str) -> dict:
        return evaluate(
            model, tokenizer, getattr(splits, split), config.dimensions, config, splits.train
        )

    report = fit(
        model,
        optimiser,
        config=config,
        total_steps=total_steps,
        epoch_batches=epoch_batches,
        batch_loss=batch_loss,
        validate=lambda: measure("validation"),
        measure=measure,
        progress=progress,
    )
    return model, tokenizer, report


def save(model, tokenizer, out, *, config: ConditionedConfig, report: TrainReport, dataset: dict):
    """Write the evaluator to ``out`` atomically (a crash or a rival job leaves ``out`` alone)."""
    card = {
        "design": DESIGN,
        "scheme": config.scheme,
        "dimensions": list(config.definitions),
        "trained_dimensions": config.dimensions,
        "definitions": config.definitions,
        "classes": list(CLASSES),
    } | training_card(config=config, report=report, dataset=dataset)
    return write_model(model, tokenizer, out, card=card)


@dataclass
class ConditionedEvaluator:
    """A trained value-conditioned evaluator loaded for scoring."""

    model: ConditionedModel
    tokenizer: Any
    card: dict[str, Any]
    extra_definitions: dict[str, str] = field(default_factory=dict)

    @property
    def dimensions(self) -> list[str]:
        return list(self.definitions)

    @property
    def definitions(self) -> dict[str, str]:
        return self.card["definitions"] | self.extra_definitions

    def score(
        self,
        pairs: Sequence[tuple[str, str]],
        *,
        batch_size: int = 32,
        definitions: dict[str, str] | None = None,
    ) -> list[dict]:
        """Return, per (prompt, response), the label and expected label of every value.

        ``definitions`` scores other values (or the same values worded differently).
        """
        definitions = definitions or self.definitions
        keys = list(definitions)
        all_cells = [
            Cell(definitions[key], prompt, response, None, key)
            for prompt, response in pairs
            for key in keys
        ]
        probabilities = predict_probabilities(
            self.model,
            self.tokenizer,
            all_cells,
            max_length=self.card["config"]["max_length"],
            batch_size=batch_size,
        )
        results = []
        for row in range(len(pairs)):
            block = probabilities[row * len(keys) : (row + 1) * len(keys)]
            labels = (block.argmax(-1) - 1).tolist()
            expected = (block[:, 2] - block[:, 0]).tolist()
            results.append(
                {
                    "labels": dict(zip(keys, labels, strict=True)),
                    "expected": {k: round(v, 4) for k, v in zip(keys, expected, strict=True)},
                }
            )
        return results


def load(directory: str | Path) -> ConditionedEvaluator:
    """Load an evaluator written by ``save``."""
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    directory = Path(directory)
    card = json.loads((directory / CARD_FILE).read_text())
    tokenizer = AutoTokenizer.from_pretrained(directory / "encoder", local_files_only=True)
    encoder = AutoModel.from_pretrained(directory / "encoder", local_files_only=True)
    model = ConditionedModel(encoder)
    model.head.load_state_dict(load_file(str(directory / HEAD_FILE)))
    model.to(_device())
    model.train(False)
    return ConditionedEvaluator(model=model, tokenizer=tokenizer, card=card)
