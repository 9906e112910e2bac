"""Token estimates without a tokenizer, and fitting a conversation into a context window.

The estimate is for budgets and for servers that send no usage: about four characters a token
for English prose (OpenAI's rule of thumb), rounded up, plus a few tokens of chat-template
framing per message. Trimming uses a deliberately pessimistic three characters a token, so a
trimmed prompt fits even for text that tokenises worse than prose.
"""

import math

Message = dict

FRAMING_TOKENS = 4  # role markers and separators a chat template adds to each message


def estimate_tokens(text: str, *, chars_per_token: float = 4.0) -> int:
    """Return an estimate of the number of tokens in ``text``."""
    return math.ceil(len(text or "") / chars_per_token)


def estimate_messages(messages: list[Message], *, chars_per_token: float = 4.0) -> int:
    """Return an estimate of the prompt tokens ``messages`` make once templated."""
    return sum(
        estimate_tokens(_text(message), chars_per_token=chars_per_token) + FRAMING_TOKENS
        for message in messages
    )


def fit_messages(messages: list[Message], *, budget: int) -> tuple[list[Message], int]:
    """Return ``messages`` cut to about ``budget`` prompt tokens, and how many were dropped.

    The leading system messages and the first message after them (the interview's scenario) are
    always kept, and so is the last message (what is being answered). The oldest turns in
    between go first, a user/assistant pair at a time, so the conversation still alternates. If
    what must be kept is over the budget on its own, it is returned as it is: the server's
    refusal then says so.
    """

    def cost(part: list[Message]) -> int:
        return estimate_messages(part, chars_per_token=3.0)

    if cost(messages) <= budget or len(messages) < 3:
        return list(messages), 0
    head_end = 0
    while head_end < len(messages) and messages[head_end].get("role") == "system":
        head_end += 1
    head_end = min(head_end + 1, len(messages) - 1)  # the scenario (first message) too
    head, middle, last = messages[:head_end], messages[head_end:-1], messages[-1:]
    dropped = 0
    while middle and cost(head + middle + last) > budget:
        # Drop through the next user message's answer, so the kept part starts with a user turn.
        cut = 1
        while cut < len(middle) and middle[cut].get("role") != "user":
            cut += 1
        middle = middle[cut:]
        dropped += cut
    return head + middle + last, dropped


def _text(message: Message) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content)
