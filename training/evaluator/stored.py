"""An evaluator on disk: writing it with its model card (``save``) and loading it to score
(``load``, ``Evaluator``)."""

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from training.evaluator.fitting import predict_probabilities
from training.evaluator.model import (
    CARD_FILE,
    CLASSES,
    HEAD_FILE,
    EvaluatorError,
    OnePassModel,
    TrainConfig,
    TrainReport,
    _device,
)


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
