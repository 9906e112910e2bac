"""Every JSON schema the apps ask an LLM for, as the gateway sends it to a server.

Grammar-based servers (llama.cpp's two servers) turn a ``maxLength`` into about that many
grammar rules; none of the schemas sent may carry a long one. Run this module with ``-s`` to
print the list (schema, the limits sent, the limits left to validation).
"""

import json

import pytest

from annotation.prelabel_prompt import answer_schema
from core.llm.schemas import SENT_MAX_LENGTH, sendable_schema
from core.llm_check import CheckAnswer
from elicitation.card_rules import ValuesCardShape
from elicitation.contexts import ContextList
from elicitation.dedup import SameValue
from elicitation.grading import InterviewGrade
from moralgraph.stories import StoryDraft
from tests.llm_double import GRAMMAR_MAX_LENGTH, _longest_string

SCHWARTZ10 = (
    "self_direction stimulation hedonism achievement power "
    "security conformity tradition benevolence universalism"
).split()
SCHEMAS = {
    "elicitation.card (ValuesCardShape)": ValuesCardShape,
    "elicitation.contexts (ContextList)": ContextList,
    "elicitation.dedup.confirm (SameValue)": SameValue,
    "elicitation.grading (InterviewGrade)": InterviewGrade,
    "moralgraph.story (StoryDraft)": StoryDraft,
    "annotation.prelabel (schwartz10 answer)": answer_schema(tuple(SCHWARTZ10)),
    "core.llm_check (CheckAnswer)": CheckAnswer,
}


def _limits(schema: dict) -> list[int]:
    found, stack = [], [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("maxLength"), int):
                found.append(node["maxLength"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return sorted(found)


def report() -> list[str]:
    """Return one line per schema: its size sent and its string limits, sent and dropped."""
    lines = []
    for name, model in SCHEMAS.items():
        full, sent = _limits(model.model_json_schema()), _limits(sendable_schema(model))
        dropped = list(full)
        for limit in sent:
            dropped.remove(limit)
        size = len(json.dumps(sendable_schema(model)))
        lines.append(
            f"{name}: {size} characters sent; maxLength sent {sorted(set(sent)) or '-'}; "
            f"left to validation {sorted(set(dropped)) or '-'}"
        )
    return lines


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_no_schema_sent_asks_a_grammar_server_for_a_long_string(name):
    sent = sendable_schema(SCHEMAS[name])

    assert _longest_string([sent]) <= SENT_MAX_LENGTH < GRAMMAR_MAX_LENGTH
    # What was dropped from the schema is still enforced when the answer is validated.
    assert sent.get("required") == SCHEMAS[name].model_json_schema().get("required")


def test_the_story_limit_is_validated_after_the_answer():
    too_long = {"story": "x" * 2001, "was_really_about": "Care.", "policy_map": []}

    with pytest.raises(ValueError):
        StoryDraft.model_validate(too_long)


def test_print_the_schema_report(capsys):
    lines = report()
    print("\n".join(lines))

    assert len(lines) == len(SCHEMAS)
