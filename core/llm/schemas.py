"""The JSON schemas the gateway sends: what grammar-based servers can compile, the words that
ask for one when the server enforces none, and the request options for each structured mode."""

import copy
import json

from pydantic import BaseModel

from core.llm.base import Message

# llama.cpp turns ``maxLength: n`` into about n grammar rules; past a few hundred the grammar
# compiler gives up (or the server crashes). Longer limits are left out of the schema sent and
# checked by pydantic when the answer is validated.
SENT_MAX_LENGTH = 200


def sendable_schema(schema: type[BaseModel]) -> dict:
    """Return ``schema``'s JSON schema with every ``maxLength`` over SENT_MAX_LENGTH removed."""
    sent = copy.deepcopy(schema.model_json_schema())
    stack = [sent]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("maxLength"), int) and node["maxLength"] > SENT_MAX_LENGTH:
                del node["maxLength"]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return sent


def schema_instructions(schema: dict) -> str:
    """Return the instruction that asks for JSON following ``schema`` in words."""
    return (
        "Answer with only a JSON object, no other text, that matches this JSON schema: "
        + json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
    )


def structured_messages(messages: list[Message], schema: dict, mode: str) -> list[Message]:
    """Return ``messages`` with the schema spelled out when the endpoint does not enforce it."""
    if mode == "json_schema":
        return list(messages)
    note = {"role": "system", "content": schema_instructions(schema)}
    if messages and messages[0].get("role") == "system":
        first = messages[0]
        merged = {**first, "content": f"{first.get('content') or ''}\n\n{note['content']}"}
        return [merged, *messages[1:]]
    return [note, *messages]


def structured_format(mode: str, schema: dict, name: str) -> dict:
    """Return the request options that ask for JSON in ``mode``."""
    if mode == "json_schema":
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": name[:64], "schema": schema, "strict": False},
            }
        }
    if mode == "json_object":
        return {"response_format": {"type": "json_object", "schema": schema}}
    return {}
