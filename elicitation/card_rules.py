"""A values card's shape and wording rules: what is refused, what is only a hint, and how a
card the model wrote is tidied. Pure module (no database)."""

import re
from collections.abc import Sequence
from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from elicitation.replies import end_at_sentence

# A card's longest parts: the model's output is bounded by them (its schema) and may stop there.
TITLE_MAX_CHARS = 80
DESCRIPTION_MAX_CHARS = 400
POLICY_MAX_CHARS = 200
# A policy starts with a noun phrase in capitals ("MOMENTS", "OPPORTUNITIES FOR") followed by
# what is attended to in ordinary words.
POLICY = re.compile(r"^(?P<head>[A-Z][A-Z'’-]*(?:\s+[A-Z][A-Z'’-]*)*)\s+(?P<rest>\S.*)$")
IRREGULAR_PLURALS = {"PEOPLE", "CHILDREN", "CRITERIA", "PHENOMENA", "DATA", "MEN", "WOMEN"}
SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")


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
