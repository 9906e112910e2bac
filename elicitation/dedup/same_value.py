"""Asking the LLM whether two values cards express the same value (the confirmation prompt)."""

from collections.abc import Callable

from pydantic import BaseModel, Field

from core import llm
from elicitation.models import ValuesCard

PURPOSE_CONFIRM = "elicitation.dedup.confirm"


SAME_VALUE_PROMPT_VERSION = "same-value/1"


SAME_VALUE_PROMPT = """\
You help researchers de-duplicate "values cards". Each card describes what one person pays \
attention to when choosing well: a title, a short description, and the things they attend to.

Two cards express the SAME value when a person who wrote one would feel that the other captures \
what they care about fully: nothing important of theirs is missing or changed, even if the words \
differ. Cards that are merely related, share a theme, or where one is broader or narrower than \
the other, are DIFFERENT values.

Answer in JSON: "same" (true or false) and "reason" (one short sentence a researcher can read)."""


class SameValue(BaseModel):
    """The LLM's judgement of two cards."""

    same: bool
    reason: str = Field(max_length=400)


Confirm = Callable[[ValuesCard, ValuesCard], SameValue]


def _card_for_prompt(card: ValuesCard) -> str:
    policies = "\n".join(f"- {policy}" for policy in card.policies)
    return f"Title: {card.title}\nDescription: {card.description}\nAttends to:\n{policies}"


def cards_same_value(card: ValuesCard, other: ValuesCard) -> SameValue:
    """Ask the LLM whether ``card`` and ``other`` express the same value."""
    messages = [
        {"role": "system", "content": SAME_VALUE_PROMPT},
        {
            "role": "user",
            "content": f"Card A\n{_card_for_prompt(card)}\n\nCard B\n{_card_for_prompt(other)}",
        },
    ]
    return llm.structured(
        messages, schema=SameValue, purpose=PURPOSE_CONFIRM, ask=llm.Generation(temperature=0)
    )


def always_same(card: ValuesCard, other: ValuesCard) -> SameValue:
    """Accept every candidate without asking (benchmarks of the embedding alone)."""
    return SameValue(same=True, reason="Accepted on similarity alone (no LLM confirmation).")
