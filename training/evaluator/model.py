"""The evaluator's settings and network: the one-pass design (an encoder reads prompt +
response, a linear head over its mean-pooled tokens predicts -1 / 0 / +1 for every dimension)."""

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLASSES = (-1, 0, 1)
IGNORE = -100
CARD_FILE = "evaluator.json"
HEAD_FILE = "head.safetensors"


class EvaluatorError(ValueError):
    """The evaluator cannot be trained or loaded as asked; the message says why."""


@dataclass(kw_only=True)
class EncoderTraining:
    """The settings every evaluator design trains with (an encoder and a head over it)."""

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


@dataclass(kw_only=True)
class TrainConfig(EncoderTraining):
    """The one-pass design's settings. The defaults are the variant
    bench/bench_evaluator_sweep.py chose on the FULCRA rows (``CHOSEN`` there): the head alone
    on the frozen encoder's embeddings of 256 tokens, softened class weights, up to 60 epochs.
    ``FINE_TUNE`` gives the settings that train the encoder too."""

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

    @classmethod
    def timed(
        cls, *, metrics: dict[str, Any], history: list, best_epoch: int, seconds: float, seen: int
    ) -> "TrainReport":
        """Return the report of a training that saw ``seen`` samples in ``seconds``."""
        return cls(
            metrics=metrics,
            history=history,
            best_epoch=best_epoch,
            seconds=round(seconds, 2),
            samples_per_second=round(seen / seconds, 2) if seconds else 0.0,
        )


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
