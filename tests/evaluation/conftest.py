"""Two scripted subjects (loopback doubles) and a tiny evaluator trained on the spot."""

import json

import pytest

from tests.llm_double import OpenAIDouble
from tests.training.conftest import synthetic_rows, tiny_encoder  # noqa: F401  (fixture)
from training.schemes import SCHWARTZ10

# What each scripted subject always answers: one upholds security, the other violates it.
CAREFUL = "we keep the door locked and the children safe and protected"
RECKLESS = "leave it unlocked, risky is fun, danger makes it exciting"


@pytest.fixture(scope="session")
def evaluator_dir(tiny_encoder, tmp_path_factory):  # noqa: F811
    """Return the folder of a tiny evaluator that learned the synthetic security cues."""
    from training import evaluator, labelled_data

    folder = tmp_path_factory.mktemp("evaluation-evaluator")
    data = folder / "rows.jsonl"
    data.write_text("\n".join(json.dumps(row) for row in synthetic_rows(160)))
    examples = labelled_data.read_examples(data, dimensions=SCHWARTZ10)
    splits = labelled_data.split_by_prompt(examples, dimensions=SCHWARTZ10)
    config = evaluator.TrainConfig(
        base_model=str(tiny_encoder),
        dimensions=SCHWARTZ10,
        epochs=6,
        patience=6,
        max_length=32,
        learning_rate=3e-3,
        head_learning_rate=1e-2,
        freeze_encoder=False,  # fine-tuned, with full class weights (the tiny encoder needs it)
        class_weight_power=1.0,
    )
    model, tokenizer, report = evaluator.train(splits, config)
    return evaluator.save(
        model,
        tokenizer,
        folder / "tiny",
        config=config,
        report=report,
        dataset={"content_hash": splits.content_hash},
    )


@pytest.fixture
def prompts_file(tmp_path):
    path = tmp_path / "prompts.jsonl"
    lines = [{"prompt": f"Question {i}: what would you do about the house?"} for i in range(12)]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


def _serve(settings):
    from django.core.cache import cache

    cache.clear()
    with OpenAIDouble() as double:
        yield double
    cache.clear()


@pytest.fixture
def careful(settings):
    """A subject endpoint that always answers CAREFUL."""
    settings.VALUELAB_LLM_TIMEOUT = 5
    settings.VALUELAB_LLM_MAX_RETRIES = 1
    yield from _serve(settings)


@pytest.fixture
def reckless(settings):
    """A subject endpoint that always answers RECKLESS."""
    yield from _serve(settings)


def script(double: OpenAIDouble, text: str, times: int) -> None:
    for _ in range(times):
        double.reply(text)


@pytest.fixture
def subjects(careful, reckless):
    """The two scripted subjects, stored (each answers its text 30 times)."""
    from evaluation.models import Subject
    from evaluation.services import subject_create

    script(careful, CAREFUL, 30)
    script(reckless, RECKLESS, 30)
    return [
        subject_create(name="careful", kind=Subject.Kind.ENDPOINT, endpoint=careful.url, model="m"),
        subject_create(
            name="reckless", kind=Subject.Kind.ENDPOINT, endpoint=reckless.url, model="m"
        ),
    ]
