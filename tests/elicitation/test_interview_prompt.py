"""The interviewer's prompt, the card's schema and the end-of-interview marker (no database)."""

import pytest
from pydantic import ValidationError

from elicitation import interview, replies
from elicitation.card_rules import ValuesCardDraft, draft_errors, style_hints
from elicitation.replies import MarkerFilter
from tests.elicitation.interview_script import CARD


def test_the_prompt_is_versioned_and_names_the_scenario():
    prompt = interview.CURRENT_PROMPT
    assert (prompt.name, prompt.version) in interview.PROMPTS
    system = prompt.system_for(question="Should I take the job abroad?")
    assert "Should I take the job abroad?" in system
    assert interview.SUBMIT_MARKER in system
    assert "one question" in system.lower()


def test_the_first_message_presents_the_scenario_or_its_seed_message():
    text = interview.first_message(question="What should I do?")
    assert "What should I do?" in text and "good response should consider" in text
    assert interview.first_message(question="Q", seed_message=" Hello there ") == "Hello there"


def test_a_good_card_validates():
    card = ValuesCardDraft(**CARD)
    assert card.title == "Room to Decide"
    assert len(card.policies) == 3


@pytest.mark.parametrize(
    ("field", "value", "hint", "words"),
    [
        ("title", "Autonomy", "title", "2 to 5 words"),
        ("title", "A very long title of many words", "title", "2 to 5 words"),
        ("description", "One. Two. Three.", "description", "one or two sentences"),
        ("policies", ["MOMENTS when x", "FEARS held", "options missed"], "policies.3", "CAPITALS"),
        ("policies", ["SENSE of agency", "FEARS held", "OPTIONS missed"], "policies.1", "plural"),
    ],
)
def test_wording_that_breaks_a_style_rule_is_a_hint_naming_the_field_not_an_error(
    field, value, hint, words
):
    data = {**CARD, field: value}
    with pytest.raises(ValidationError):
        ValuesCardDraft(**data)  # not a well-written card...
    assert draft_errors(**data) == {}  # ...but one that can be stored and approved
    hints = style_hints(**data)
    assert list(hints) == [hint]
    assert words.lower() in hints[hint].lower()


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("title", "", "write this part"),
        ("description", " ", "write this part"),
        ("policies", ["MOMENTS when it matters", "FEARS they hold"], "at least 3"),
        ("policies", [f"MOMENTS number {i} here" for i in range(8)], "at most 7"),
        ("policies", ["MOMENTS when it matters", "FEARS they hold", "x" * 201], "item 3: keep"),
    ],
)
def test_a_card_of_the_wrong_shape_is_refused_naming_the_field(field, value, words):
    errors = draft_errors(**{**CARD, field: value})
    assert list(errors) == [field]
    assert words in errors[field].lower()


def test_a_well_written_card_has_no_hints():
    assert style_hints(**CARD) == {}


def test_the_marker_is_never_shown_even_when_it_arrives_in_pieces():
    marker = MarkerFilter()
    pieces = ["I will write ", "it up now. [[sub", "mit_values", "_card]]"]
    shown = "".join(marker.feed(piece) for piece in pieces) + marker.finish()
    assert shown == "I will write it up now. "
    assert marker.submitted
    assert marker.text == "I will write it up now."


def test_text_that_only_looks_like_the_marker_start_is_shown_at_the_end():
    marker = MarkerFilter()
    shown = marker.feed("Tell me about [[this") + marker.finish()
    assert shown == "Tell me about [[this"
    assert not marker.submitted


def test_the_interviewer_is_sent_its_instructions_then_the_chat():
    messages = interview.interview_messages(
        interview.CURRENT_PROMPT,
        question="Q?",
        transcript=[("assistant", "Hi"), ("user", "Hello")],
    )
    assert [m["role"] for m in messages] == ["system", "assistant", "user"]


@pytest.mark.parametrize(
    ("reply", "stored"),
    [
        ("What did you notice? I wonder if you felt th", "What did you notice?"),
        (
            "That matters. Can you tell me “when it happened.” And wh",
            "That matters. Can you tell me “when it happened.”",
        ),
        ("What were you looking for?", "What were you looking for?"),
        ("Tell me more about that moment", "Tell me more about that moment"),
        ("It cost 3.5 euros and then", "It cost 3.5 euros and then"),
    ],
)
def test_a_reply_cut_by_the_token_limit_ends_at_its_last_sentence(reply, stored):
    assert replies.end_at_sentence(reply) == stored


@pytest.mark.parametrize(
    ("reply", "stored"),
    [
        # Stopped by the token limit with no sentence finished: never cut mid-word.
        ("Tell me more about the moment you realis", "Tell me more about the moment you…"),
        ("What were you looking for, and", "What were you looking for…"),
        ("Tell", ""),
        # A finished sentence still wins.
        ("What did you notice? I wonder if you felt th", "What did you notice?"),
    ],
)
def test_a_reply_stopped_by_the_token_limit_mid_word_drops_the_partial_word(reply, stored):
    assert replies.end_at_sentence(reply, cut=True) == stored


def test_the_first_question_ends_at_its_question_mark():
    text = "When did that happen? Then you should tell her."
    assert text[: replies.first_question_end(text)] == "When did that happen?"
    assert replies.first_question_end("You should tell her.") is None
