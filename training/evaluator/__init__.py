"""The value evaluator, one-pass design: an encoder reads prompt + response, a head predicts
-1 / 0 / +1 for every dimension of the scheme at once.

Pure ML code (no database), by concern: ``model`` (settings and the network), ``fitting``
(training and evaluation), ``stored`` (save, load, score). torch and transformers are imported
inside functions so that importing this package (from a Celery worker parent, a view) is cheap
and never runs a torch operation before a fork. Every name callers use is importable from here;
``fitting.FEATURE_CACHE`` is set on ``fitting`` itself (it is read there).
"""

from training.evaluator.fitting import (
    class_weights,
    evaluate,
    fit,
    masked_loss,
    pooled_features,
    predict_probabilities,
    train,
)
from training.evaluator.model import (
    CARD_FILE,
    CLASSES,
    ENCODER_INPUTS,
    FINE_TUNE,
    HEAD_FILE,
    IGNORE,
    EncoderTraining,
    EvaluatorError,
    OnePassModel,
    PooledHeadModel,
    Progress,
    TrainConfig,
    TrainReport,
    _device,
    load_base,
)
from training.evaluator.stored import (
    Evaluator,
    load,
    load_card,
    save,
    training_card,
    write_model,
)

__all__ = [
    "CARD_FILE",
    "CLASSES",
    "ENCODER_INPUTS",
    "FINE_TUNE",
    "HEAD_FILE",
    "IGNORE",
    "Evaluator",
    "EncoderTraining",
    "EvaluatorError",
    "OnePassModel",
    "PooledHeadModel",
    "Progress",
    "TrainConfig",
    "TrainReport",
    "_device",
    "class_weights",
    "evaluate",
    "fit",
    "load",
    "load_base",
    "load_card",
    "masked_loss",
    "pooled_features",
    "predict_probabilities",
    "save",
    "train",
    "training_card",
    "write_model",
]
