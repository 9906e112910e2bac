"""The interviewer: its versioned prompts, what the model is sent, and the marker it ends with.

Pure module (no database). A chat stores the prompt's name and version it was started with and
keeps using that prompt, so changing the wording means adding a new version here, never editing
one that chats already used.

The interviewer "calls" ``submit_values_card`` natively (``SUBMIT_TOOL``, offered where the
endpoint takes tools) or by ending a reply with ``SUBMIT_MARKER`` (everywhere, the local model
included); either counts. The card itself is then written by a second, structured call
(``llm.structured`` with ``ValuesCardShape``), which the gateway validates and retries.
A card of the right shape that breaks a wording rule is sent back once with ``restyle``; what
still breaks a rule after that is shown to the participant as a hint (``style_hints``).

The card's shape and wording rules: ``elicitation.card_rules``. Reading a reply as it streams
(the marker, where a sentence or question ends): ``elicitation.replies``.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass

SUBMIT_MARKER = "[[submit_values_card]]"
# Offered as a native tool where the endpoint takes tools: calling it counts as the marker.
SUBMIT_TOOL = {
    "type": "function",
    "function": {
        "name": "submit_values_card",
        "description": (
            "Call this instead of writing the end marker, once you understand what the person "
            "attends to well enough to write it down as a card; the card is written next."
        ),
        "parameters": {"type": "object", "properties": {}},
    },
}
MAX_MESSAGE_CHARS = 4000
# An interviewer's message is a question or two: this bounds a runaway reply (and local runs).
INTERVIEW_MAX_TOKENS = 300


@dataclass(frozen=True)
class Prompt:
    """One version of the interviewer: what it is told, and how it distills a card."""

    name: str
    version: str
    system: str
    distill: str
    revise: str
    restyle: str = (
        "Some of that card's wording does not follow the rules: {hints} Return the whole card "
        "again as JSON with only those parts reworded; keep what the person said."
    )

    # For a small model (the embedded one), which left to itself answers the question, gives
    # advice or rewrites what the participant said instead of asking:
    # - one_question: the reply is read up to its first question, then the model is stopped;
    # - openers: the reply starts with one of these (in turn), and the model writes the rest;
    # - max_answers: after this many answers the interviewer writes the card (0: it decides);
    # - max_tokens: the most a reply may run to.
    one_question: bool = False
    openers: tuple[str, ...] = ()
    max_answers: int = 0
    max_tokens: int = INTERVIEW_MAX_TOKENS

    def opener_for(self, *, answers: int) -> str:
        """Return how the reply to the participant's ``answers``-th answer starts ("" if free)."""
        return self.openers[(answers - 1) % len(self.openers)] if self.openers else ""

    def system_for(self, *, question: str) -> str:
        """Return the interviewer's system prompt for the scenario ``question``."""
        return self.system.replace("{question}", question).replace("{marker}", SUBMIT_MARKER)


INTERVIEWER_V1 = Prompt(
    name="mge-interviewer",
    version="1",
    system="""\
You are interviewing a person to find out what they think a good answer to this question should \
pay attention to. Someone asked a chatbot:

"{question}"

Your aim is to understand one thing the person cares about here, in their own words, well enough \
to write it down as a short card. How to interview:

- Ask exactly one question per message. Keep messages short: two or three sentences at most.
- Ask about their own life, not about principles. Look for a real moment when something like this \
mattered to them: a time they helped someone, or were helped, or wished they had been. Ask them \
to tell you about it.
- Once they tell a story, move from what they felt to what they were paying attention to: what \
they noticed, looked for, or kept in mind when they acted well. Ask things like "What were you \
looking for in that moment?" or "What told you it was going well?"
- Collect several such things they attend to, in concrete terms.
- Do not flatter them, praise their answers, or agree with them. Do not suggest answers or put \
words in their mouth; if they are unsure, ask a more concrete question instead.
- Do not use technical words such as "values card", "attention policy" or "constitutive". Talk \
plainly.
- Do not give advice about the question yourself. You are asking, not answering.

When you understand what they attend to well enough to write it down (usually after four to \
eight of their answers), stop asking. Write one short sentence saying you will now write it up \
as a card for them to check, and end that message with exactly {marker}. Never write {marker} \
in any other message.""",
    distill="""\
Write a values card from the interview below: what this person thinks a good answer to the \
question should pay attention to. Use their words and their story; add nothing they did not say.

Return JSON with:
- "title": 2 to 5 words naming what they care about.
- "description": one or two plain sentences saying what a good answer does, from their point \
of view.
- "policies": 3 to 7 things the person pays attention to when choosing well. Each starts with a \
plural noun phrase in CAPITALS, followed by what exactly is attended to in ordinary words, e.g. \
"MOMENTS when the user's eyes light up with interest" or "OPPORTUNITIES for the person to \
decide for themselves".""",
    revise="""\
The participant read the card below and asked for changes. Return the whole card again with \
their changes made, following the same rules (title 2 to 5 words; description one or two plain \
sentences; 3 to 7 policies, each a plural noun phrase in CAPITALS followed by what is attended \
to). Change only what they asked for.""",
)

# For the embedded model (SmolLM2-135M): a few short, direct lines and one worked example work
# better than the full brief, which it echoes back or answers itself. Its reply is read up to its
# first question (``one_question``); the card is written by the same distill call as above.
INTERVIEWER_SMALL_V1 = Prompt(
    name="mge-interviewer-small",
    version="1",
    system="""\
You are an interviewer. You ask the person one short question at a time about their own \
experience, and never answer for them. The topic: someone asked a chatbot: {question}""",
    distill=INTERVIEWER_V1.distill,
    revise=INTERVIEWER_V1.revise,
    one_question=True,
    openers=(
        "Can you tell me about a time when",
        "What did you notice when",
        "What were you looking for when",
    ),
    max_answers=4,
    max_tokens=48,
)

PROMPTS: dict[tuple[str, str], Prompt] = {
    (prompt.name, prompt.version): prompt for prompt in [INTERVIEWER_V1, INTERVIEWER_SMALL_V1]
}
CURRENT_PROMPT = INTERVIEWER_V1
# The prompt a new chat gets, by backend (``llm.backend_name()``).
CURRENT_PROMPTS = {"openai": INTERVIEWER_V1, "local": INTERVIEWER_SMALL_V1}


def prompt_current(*, backend: str) -> Prompt:
    """Return the prompt a new chat starts with on ``backend`` ("openai" or "local")."""
    return CURRENT_PROMPTS.get(backend, CURRENT_PROMPT)


def prompt_for(name: str, version: str) -> Prompt:
    """Return the prompt a chat was started with (the current one if it was removed)."""
    return PROMPTS.get((name, version), CURRENT_PROMPT)


def first_message(*, question: str, seed_message: str = "") -> str:
    """Return the interview's opening message: the scenario and what to think about."""
    if seed_message.strip():
        return seed_message.strip()
    return (
        f"Imagine someone asks a chatbot:\n\n“{question.strip()}”\n\n"
        "What do you think a good response should consider?"
    )


# --- what the model is sent --------------------------------------------------------------------


def interview_messages(
    prompt: Prompt, *, question: str, transcript: Sequence[tuple[str, str]]
) -> list[dict[str, str]]:
    """Return the interviewer's messages: its instructions, then the chat so far.

    With ``prompt.openers`` the last message is the reply's start (the interviewer's own), for
    the model to go on from.
    """
    messages = [{"role": "system", "content": prompt.system_for(question=question)}]
    messages += [{"role": role, "content": text} for role, text in transcript]
    answers = sum(1 for role, _ in transcript if role == "user")
    if opener := prompt.opener_for(answers=answers):
        messages.append({"role": "assistant", "content": opener})
    return messages


def _transcript_text(transcript: Sequence[tuple[str, str]]) -> str:
    speaker = {"user": "Participant", "assistant": "Interviewer"}
    return "\n\n".join(f"{speaker.get(role, role)}: {text}" for role, text in transcript)


def distill_messages(
    prompt: Prompt, *, question: str, transcript: Sequence[tuple[str, str]]
) -> list[dict[str, str]]:
    """Return the messages asking for the card (``submit_values_card``'s arguments) as JSON."""
    return [
        {"role": "system", "content": prompt.distill},
        {
            "role": "user",
            "content": (
                f'The question: "{question}"\n\nThe interview:\n\n{_transcript_text(transcript)}'
            ),
        },
    ]


def revise_messages(
    prompt: Prompt,
    *,
    question: str,
    transcript: Sequence[tuple[str, str]],
    card: dict,
    request: str,
) -> list[dict[str, str]]:
    """Return the messages asking for ``card`` rewritten as the participant ``request``-ed."""
    return distill_messages(prompt, question=question, transcript=transcript) + [
        {"role": "assistant", "content": json.dumps(card, ensure_ascii=False)},
        {"role": "user", "content": f"{prompt.revise}\n\nWhat they asked: {request}"},
    ]


def restyle_messages(
    prompt: Prompt, *, asked: Sequence[dict[str, str]], card: dict, hints: dict[str, str]
) -> list[dict[str, str]]:
    """Return ``asked`` (the messages that produced ``card``) with one re-ask to fix ``hints``."""
    listed = " ".join(f"{field}: {hint}" for field, hint in hints.items())
    return list(asked) + [
        {"role": "assistant", "content": json.dumps(card, ensure_ascii=False)},
        {"role": "user", "content": prompt.restyle.replace("{hints}", listed)},
    ]
