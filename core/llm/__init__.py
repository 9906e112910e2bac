"""The LLM gateway: the one way ValueLab talks to a language model.

    from core import llm

    reply = llm.chat(messages, purpose="elicitation.interview", user=request.user)
    for piece in llm.chat_stream(messages, purpose="elicitation.interview", user=user): ...
    card = llm.structured(messages, schema=ValuesCard, purpose="elicitation.card", user=user)
    vectors = llm.embed(["honesty", "candour"], purpose="moralgraph.dedupe")

The backend is an OpenAI-compatible endpoint when OPENAI_BASE_URL or OPENAI_API_KEY is set, else
the embedded local model. Every call is recorded as a ``core.models.LLMCall``; participants are
held to VALUELAB_LLM_BUDGET calls a day. Failures raise the LLMError subclasses below.
"""

from core.llm.base import (
    ChatResult,
    LLMBudgetExceeded,
    LLMError,
    LLMInvalidOutput,
    LLMTimeout,
    LLMUnavailable,
)
from core.llm.gateway import (
    ChatStream,
    backend_name,
    budget_remaining,
    chat,
    chat_stream,
    embed,
    structured,
)

__all__ = [
    "ChatResult",
    "ChatStream",
    "LLMBudgetExceeded",
    "LLMError",
    "LLMInvalidOutput",
    "LLMTimeout",
    "LLMUnavailable",
    "backend_name",
    "budget_remaining",
    "chat",
    "chat_stream",
    "embed",
    "structured",
]
