"""The LLM gateway: the one way ValueLab talks to a language model.

    from core import llm

    reply = llm.chat(messages, purpose="elicitation.interview", user=request.user)
    for index, reply in llm.chat_each(conversations, purpose=…, endpoint=url, concurrency=32): ...
    for piece in llm.chat_stream(messages, purpose="elicitation.interview", user=user): ...
    card = llm.structured(messages, schema=ValuesCard, purpose="elicitation.card", user=user)
    grade = llm.structured(messages, schema=Grade, purpose=…, ask=llm.Generation(temperature=0))
    vectors = llm.embed(["honesty", "candour"], purpose="moralgraph.dedupe")

The backend is an OpenAI-compatible endpoint when OPENAI_BASE_URL or OPENAI_API_KEY is set, else
the embedded local model. Every call is recorded as a ``core.models.LLMCall``; participants are
held to VALUELAB_LLM_BUDGET answered calls a day. Failures raise the LLMError subclasses below:
LLMUnavailable (and LLMTimeout) is an outage worth retrying later; LLMRefused (a parameter, the
context, the model) and LLMInvalidOutput (including an empty reply) are not.
"""

from core.llm.base import (
    ChatResult,
    Generation,
    LLMBudgetExceeded,
    LLMContextExceeded,
    LLMEmptyReply,
    LLMError,
    LLMInvalidOutput,
    LLMParameterRefused,
    LLMRefused,
    LLMTimeout,
    LLMUnavailable,
)
from core.llm.batch import chat_each
from core.llm.calls import budget_remaining
from core.llm.gateway import (
    ChatStream,
    backend_name,
    chat,
    chat_stream,
    embed,
    endpoint_report,
    structured,
)

__all__ = [
    "ChatResult",
    "ChatStream",
    "Generation",
    "LLMBudgetExceeded",
    "LLMContextExceeded",
    "LLMEmptyReply",
    "LLMError",
    "LLMInvalidOutput",
    "LLMParameterRefused",
    "LLMRefused",
    "LLMTimeout",
    "LLMUnavailable",
    "backend_name",
    "budget_remaining",
    "chat",
    "chat_each",
    "chat_stream",
    "embed",
    "endpoint_report",
    "structured",
]
