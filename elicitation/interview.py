"""The interviewer: its versioned prompts, the values-card schema, and the marker it ends with.

Pure module (no database). A chat stores the prompt's name and version it was started with and
keeps using that prompt, so changing the wording means adding a new version here, never editing
one that chats already used.

The interviewer "calls" ``submit_values_card`` natively (``SUBMIT_TOOL``, offered where the
endpoint takes tools) or by ending a reply with ``SUBMIT_MARKER`` (everywhere, the local model
included); either counts. The card itself is then written by a second, structured call
(``llm.structured`` with ``ValuesCardShape``), which the gateway validates and retries.
A card of the right shape that breaks a wording rule is sent back once with ``restyle``; what
still breaks a rule after that is shown to the participant as a hint (``style_hints``).
"""

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, Field, field_validator

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
# A card's longest parts: the model's output is bounded by them (its schema) and may stop there.
TITLE_MAX_CHARS = 80
DESCRIPTION_MAX_CHARS = 400
POLICY_MAX_CHARS = 200
# An interviewer's message is a question or two: this bounds a runaway reply (and local runs).
INTERVIEW_MAX_TOKENS = 300

# A policy starts with a noun phrase in capitals ("MOMENTS", "OPPORTUNITIES FOR") followed by
# what is attended to in ordinary words.
POLICY = re.compile(r"^(?P<head>[A-Z][A-Z'’-]*(?:\s+[A-Z][A-Z'’-]*)*)\s+(?P<rest>\S.*)$")
IRREGULAR_PLURALS = {"PEOPLE", "CHILDREN", "CRITERIA", "PHENOMENA", "DATA", "MEN", "WOMEN"}
SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")


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


# --- the card ----------------------------------------------------------------------------------


def policy_problem(policy: str) -> str | None:
    """Return what is wrong with one policy's wording, or None if it reads as it should."""
    text = policy.strip()
    match = POLICY.match(text)
    if match is None:
        return (
            "must start with a plural noun phrase in CAPITALS followed by what is attended to, "
            'e.g. "MOMENTS when the user\'s eyes light up with interest"'
        )
    words = match.group("head").split()
    if not any(_is_plural(word) for word in words):
        return f'"{match.group("head")}" should be plural, e.g. "MOMENTS" or "OPPORTUNITIES"'
    if not re.search(r"[a-z]", match.group("rest")):
        return "must say in ordinary words what is attended to after the capitals"
    return None


def _is_plural(word: str) -> bool:
    word = word.strip("'’-")
    if word in IRREGULAR_PLURALS:
        return True
    return (
        len(word) > 2 and word.endswith("S") and (not word.endswith("SS") or word.endswith("SES"))
    )


class ValuesCardShape(BaseModel):
    """A card's shape: what the model is asked for (its JSON schema) and what any card must have.

    Only lengths and counts: a card of this shape can be stored and approved. The wording rules
    (title words, sentences, policies in CAPITALS) are ``style_hints``: they guide the model
    through its prompt and one re-ask, and are shown to the participant, never refused.
    """

    title: str = Field(min_length=2, max_length=TITLE_MAX_CHARS, description="2 to 5 words.")
    description: str = Field(
        min_length=3, max_length=DESCRIPTION_MAX_CHARS, description="One or two plain sentences."
    )
    # Bounded items keep constrained decoding (the local model) from rambling in one string.
    policies: list[Annotated[str, Field(min_length=3, max_length=POLICY_MAX_CHARS)]] = Field(
        min_length=3,
        max_length=7,
        description="Each a plural noun phrase in CAPITALS followed by what is attended to.",
    )

    # Before the length checks, so a field of spaces counts as empty.
    @field_validator("title", "description", mode="before")
    @classmethod
    def _one_line(cls, value: object) -> object:
        return " ".join(value.split()) if isinstance(value, str) else value

    @field_validator("policies", mode="before")
    @classmethod
    def _policies_one_line(cls, value: object) -> object:
        if not isinstance(value, list):
            return value
        return [" ".join(item.split()) if isinstance(item, str) else item for item in value]


class ValuesCardDraft(ValuesCardShape):
    """A card of the right shape that also follows every wording rule (a well-written card)."""

    @field_validator("title")
    @classmethod
    def _title_words(cls, value: str) -> str:
        if problem := title_problem(value):
            raise ValueError(problem)
        return value

    @field_validator("description")
    @classmethod
    def _description_sentences(cls, value: str) -> str:
        if problem := description_problem(value):
            raise ValueError(problem)
        return value

    @field_validator("policies")
    @classmethod
    def _policies_read_as_attention(cls, value: list[str]) -> list[str]:
        problems = [
            f"policy {index + 1} {problem}"
            for index, policy in enumerate(value)
            if (problem := policy_problem(policy))
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return value


def title_problem(title: str) -> str | None:
    """Return what is wrong with a title's wording, or None."""
    if not 2 <= len(title.split()) <= 5:
        return "the title should be 2 to 5 words"
    return None


def description_problem(description: str) -> str | None:
    """Return what is wrong with a description's wording, or None."""
    if len(SENTENCE_END.findall(" ".join(description.split()))) > 2:
        return "the description should be one or two sentences"
    return None


def style_hints(*, title: str, description: str, policies: Sequence[str]) -> dict[str, str]:
    """Return ``{field: hint}`` for each wording rule a card breaks (empty when it reads well).

    Keys are ``title``, ``description`` and ``policies.<n>`` (n from 1, as a participant counts).
    """
    hints: dict[str, str] = {}
    if problem := title_problem(" ".join(title.split())):
        hints["title"] = _sentence(problem)
    if problem := description_problem(description):
        hints["description"] = _sentence(problem)
    repeats = repeated_policies(policies, description=description)
    for index, policy in enumerate(policies, start=1):
        if why := repeats.get(index - 1):
            hints[f"policies.{index}"] = _sentence(f"this item {why}: say something else")
        elif problem := policy_problem(" ".join(policy.split())):
            hints[f"policies.{index}"] = _sentence(
                f"this item {problem}" if problem.startswith("must") else problem
            )
    return hints


def _same_words(text: str) -> str:
    """Return ``text`` reduced to its words, for telling repeated items apart from new ones."""
    return " ".join(re.findall(r"\w+", text.casefold()))


def repeated_policies(policies: Sequence[str], *, description: str = "") -> dict[int, str]:
    """Return ``{index: why}`` (index from 0) for each policy that repeats an earlier one or the
    description (the same words, or one's words beginning the other's: a copy cut shorter)."""
    seen: list[str] = []
    about = _same_words(description)
    repeats: dict[int, str] = {}
    for index, policy in enumerate(policies):
        words = _same_words(policy)
        earlier = next(
            (n for n, other in enumerate(seen) if other and _overlaps(words, other)), None
        )
        if earlier is not None:
            repeats[index] = f"repeats item {earlier + 1}"
        elif about and words and _overlaps(words, about):
            repeats[index] = "repeats the description"
        seen.append(words)
    return repeats


def _overlaps(words: str, other: str) -> bool:
    # A copy stopped at the length limit ends mid-word: compare characters, not words, once
    # the shorter one is long enough to be more than a shared opening ("MOMENTS when").
    shorter = min(len(words), len(other))
    return words == other or (shorter >= 24 and words[:shorter] == other[:shorter])


def end_at_word(text: str, *, limit: int) -> str:
    """Return ``text`` ended at a sentence or word boundary when it fills ``limit`` characters
    (the model was cut off there, perhaps mid-word); shorter text is returned as it is."""
    text = " ".join(text.split())
    if len(text) < limit:
        return text
    return end_at_sentence(text[:limit], cut=True)


def cut_at_word(text: str, *, limit: int) -> str:
    """Return ``text`` on one line, and when it fills ``limit`` characters (the model was stopped
    there, perhaps mid-word) cut after its last whole word with "…", within ``limit``."""
    text = " ".join(text.split())
    if len(text) < limit:
        return text
    words = text[:limit].split()
    if text[limit : limit + 1] != " " and not text[:limit].endswith(" "):
        words.pop()  # the last word is cut (no space right after it): drop it
    while words and len(" ".join(words)) + 1 > limit:
        words.pop()
    kept = " ".join(words).rstrip(",;:-–—.!?")
    return kept + "…" if kept else text[: limit - 1] + "…"


# Small words a title taken from a policy should not end on ("Feelings of the person asking").
_TRAILING_SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or",
                         "that", "the", "to", "when", "where", "which", "who", "with"}  # fmt: skip


def _repeats_question(title: str, question: str) -> bool:
    """Whether ``title`` is (a piece of) the scenario question rather than a name for a value:
    the small model copies the question into the title, often cut at the length limit."""
    words, asked = _same_words(title), _same_words(question)
    if not words or not asked:
        return False
    return _overlaps(words, asked) or (len(words.split()) >= 3 and f" {words} " in f" {asked} ")


def _title_from_policy(policies: Sequence[str]) -> str:
    """Return a 2-5 word title made of the first policy's CAPITALS head ("FEELINGS of the person
    asking" → "Feelings of the person asking"), or "" when no policy has that shape."""
    for policy in policies:
        match = POLICY.match(" ".join(policy.split()))
        if match is None or not _is_plural(match["head"].split()[-1]):
            continue
        words = [*match["head"].lower().split(), *match["rest"].rstrip(".!?…").split()][:5]
        while len(words) > 2 and words[-1].lower().strip(",;:") in _TRAILING_SMALL_WORDS:
            words.pop()
        title = " ".join(words).rstrip(",;:")
        return title[:1].upper() + title[1:]
    return ""


def card_title(*, title: str, question: str = "", policies: Sequence[str] = ()) -> str:
    """Return the title a written card is proposed with: the model's own, cut at a word with "…"
    when it fills the length limit; when it only repeats the scenario question and a policy
    names what the participant attends to, a title made from that policy instead."""
    if question and _repeats_question(title, question):
        if better := _title_from_policy(policies):
            return cut_at_word(better, limit=TITLE_MAX_CHARS)
    return cut_at_word(title, limit=TITLE_MAX_CHARS)


def tidy_card(*, title: str, description: str, policies: Sequence[str], question: str = "") -> dict:
    """Return a card the model wrote with cut-off wording ended at a word boundary and policies
    that repeat an earlier one left out (one repeating the description stays, with a hint); a
    title that only repeats the scenario ``question`` is replaced when a better one exists
    (``card_title``).

    What is left may have fewer than 3 policies: such a card is proposed for the participant to
    complete (``draft_errors`` names what is missing; it cannot be approved as it is).
    """
    description = end_at_word(description, limit=DESCRIPTION_MAX_CHARS)
    cut = [end_at_word(policy, limit=POLICY_MAX_CHARS) for policy in policies]
    cut = [policy for policy in cut if policy.strip(" .…")]
    repeats = repeated_policies(cut)
    kept = [policy for index, policy in enumerate(cut) if index not in repeats]
    return {
        "title": card_title(title=title, question=question, policies=kept),
        "description": description,
        "policies": kept,
    }


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def draft_errors(*, title: str, description: str, policies: Sequence[str]) -> dict[str, str]:
    """Return ``{field: message}`` for a card that cannot be stored (empty when it can).

    Only the shape is refused (empty or overlong fields, fewer than 3 or more than 7 policies,
    fewer than 3 that say different things); wording that breaks a style rule is a hint
    (``style_hints``), never an error.
    """
    from pydantic import ValidationError

    try:
        ValuesCardShape(title=title, description=description, policies=list(policies))
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "card"
            message = _shape_message(error)
            if field == "policies" and len(error["loc"]) > 1:
                message = f"Item {int(error['loc'][1]) + 1}: {message[:1].lower()}{message[1:]}"
            errors.setdefault(field, message)
        return errors
    distinct = len(policies) - len(repeated_policies(policies))
    if distinct < 3:
        return {
            "policies": f"Write at least 3 different things to pay attention to "
            f"({distinct} of them say different things)."
        }
    return {}


def _shape_message(error: dict) -> str:
    """Return one pydantic error about a card's shape in a participant's words."""
    limit = (error.get("ctx") or {}).get("max_length") or (error.get("ctx") or {}).get("min_length")
    match error["type"]:
        case "string_too_short":
            return "Write this part of the card (a few words at least)."
        case "string_too_long":
            return f"Keep it to {limit} characters or fewer."
        case "too_short":
            return "Write at least 3 things to pay attention to."
        case "too_long":
            return "Write at most 7 things to pay attention to."
    message = str(error["msg"]).removeprefix("Value error, ")
    return message[:1].upper() + message[1:]


# A sentence ends in . ! ? (or …), maybe followed by closing quotes or brackets.
LAST_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s|$)")


def end_at_sentence(text: str, *, cut: bool = False) -> str:
    """Return ``text`` cut after its last complete sentence (a reply stopped by the token limit
    ends mid-sentence); unchanged when it ends a sentence.

    With no complete sentence at all it is kept, except when ``cut`` says the token limit
    stopped it: then its last, perhaps partial, word is dropped and "…" ends it (never mid-word).
    """
    text = text.rstrip()
    ends = list(LAST_SENTENCE_END.finditer(text))
    if ends and ends[-1].end() == len(text):
        return text
    if ends:
        return text[: ends[-1].end()]
    if not cut:
        return text
    words = text.split()
    if len(words) < 2:
        return ""
    return " ".join(words[:-1]).rstrip(",;:-–—") + "…"


# A question ends in "?" (maybe followed by closing quotes or brackets) at a space or the end.
QUESTION_END = re.compile(r"\?[\"'”’)\]]*(?=\s|$)")


def first_question_end(text: str) -> int | None:
    """Return where ``text``'s first question ends (after its "?"), or None if it asks none."""
    match = QUESTION_END.search(text)
    return match.end() if match else None


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


# --- the marker in a streamed reply ------------------------------------------------------------


class MarkerFilter:
    """Pass a streamed reply through, holding back anything that may be the start of the marker.

    Feed it the deltas; it returns what may be shown now. ``text`` is the whole reply without
    the marker, ``submitted`` whether the marker came.
    """

    def __init__(self, marker: str = SUBMIT_MARKER):
        self.marker = marker
        self._raw = ""
        self._shown = 0

    def feed(self, piece: str) -> str:
        """Add ``piece``; return the text that can be shown now."""
        self._raw += piece
        visible = self._raw.replace(self.marker, "")
        # Hold back a tail that could still grow into the marker.
        hold = 0
        for length in range(min(len(self.marker) - 1, len(visible)), 0, -1):
            if self.marker.startswith(visible[-length:]):
                hold = length
                break
        safe = visible[: len(visible) - hold]
        out, self._shown = safe[self._shown :], max(self._shown, len(safe))
        return out

    def finish(self) -> str:
        """Return what was held back once the reply is complete (a tail that was not marker)."""
        visible = self._raw.replace(self.marker, "")
        out = visible[self._shown :]
        self._shown = len(visible)
        return out

    @property
    def submitted(self) -> bool:
        return self.marker in self._raw

    @property
    def text(self) -> str:
        return self._raw.replace(self.marker, "").strip()
