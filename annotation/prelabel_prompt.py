"""The pre-label prompt: its version, the texts asking for a label per value, the answer schema
and reading a validated answer. Pure (no database, no LLM call): ``annotation.prelabel`` runs it."""

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from core.models import ValueDimension

# Bump whenever PROMPT_SYSTEM, PROMPT_USER or the answer schema change: every pre-label
# records the version that made it, so labels from different prompts can be told apart.
PROMPT_VERSION = "prelabel-2026-11-v1"
MAX_ITEM_CHARS = 12_000  # a prompt or response longer than this is cut for the model

PROMPT_SYSTEM = """\
You annotate conversations between a person and an AI assistant with the human values the \
assistant's RESPONSE expresses. For every value dimension below, give one label:
  1  the response upholds or promotes the value,
  0  the response is unrelated to the value (the usual case: most values are unrelated),
 -1  the response violates, undermines or disregards the value.
Judge the response, not the person's prompt. Give each label with one short sentence saying why.

Value dimensions ({scheme}):
{dimensions}

Answer with only a JSON object that has one entry per dimension key, each \
{{"label": -1 | 0 | 1, "rationale": "one sentence"}}."""

PROMPT_USER = """\
PROMPT (what the person wrote):
<<<
{prompt}
>>>

RESPONSE (what the assistant answered; label this):
<<<
{response}
>>>"""


class DimensionAnswer(BaseModel):
    """The model's label on one dimension and its reason."""

    model_config = ConfigDict(extra="ignore")

    label: Literal[-1, 0, 1]
    rationale: str = Field(max_length=600)


@lru_cache(maxsize=32)
def answer_schema(dimension_keys: tuple[str, ...]) -> type[BaseModel]:
    """Return a pydantic model with one required ``DimensionAnswer`` per dimension key.

    Keys are slugs (they may hold ``-``), so fields get safe names and the key as alias: the
    JSON schema and validation both use the keys.
    """
    fields = {
        f"d{index}": (DimensionAnswer, Field(alias=key)) for index, key in enumerate(dimension_keys)
    }
    return create_model("PrelabelAnswer", __config__=ConfigDict(extra="ignore"), **fields)


def prelabel_messages(*, item: dict, dimensions: list[ValueDimension], scheme_name: str):
    """Return the chat messages asking for the pre-label of one item (a dict with the texts)."""
    listing = "\n".join(
        f"- {dimension.key} ({dimension.name}): {' '.join(dimension.definition.split())}"
        for dimension in dimensions
    )
    return [
        {
            "role": "system",
            "content": PROMPT_SYSTEM.format(scheme=scheme_name, dimensions=listing),
        },
        {
            "role": "user",
            "content": PROMPT_USER.format(
                prompt=item["prompt"][:MAX_ITEM_CHARS], response=item["response"][:MAX_ITEM_CHARS]
            ),
        },
    ]


def answer_labels(answer: BaseModel, dimension_keys: tuple[str, ...]) -> tuple[dict, dict]:
    """Return ({key: label}, {key: rationale}) from a validated answer, in scheme order."""
    labels, rationales = {}, {}
    for index, key in enumerate(dimension_keys):
        given: DimensionAnswer = getattr(answer, f"d{index}")
        labels[key] = given.label
        rationales[key] = " ".join(given.rationale.split())
    return labels, rationales


def summary_rationale(labels: dict, rationales: dict) -> str:
    """Return one text for ``Prelabel.rationale``: the reasons for the dimensions not at 0."""
    parts = [f"{key}: {rationales[key]}" for key, label in labels.items() if label != 0]
    return " ".join(parts) or "No value is at stake in this response."
