"""A card the small model writes as copies of its description, cut mid-word at the length limit,
is tidied before the participant sees it: repeats left out, words whole, and a card left with
fewer than 3 different policies is offered to complete, never approved as it is."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from elicitation import card_rules
from elicitation.models import Chat
from elicitation.services.card_drafts import chat_card_write
from elicitation.services.cards import card_approve, card_edit
from elicitation.services.interviews import chat_start, message_post
from tests.elicitation.factories import ScenarioFactory
from tests.elicitation.interview_script import CARD

QUESTION = "My friend keeps cancelling plans. What should I do?"
ABOUT = (
    "The participant values honesty in friendship and wants a friend who cancels to say why, "
    "because a clear reason lets them plan their week. It highlights that trust grows when "
    "the people explain themselves and that silence feels like being dropped without a word at all"
)
# What the lead saw: 7 copies of the description, each stopped at 200 characters mid-word.
GARBAGE = {
    "title": QUESTION,
    "description": (ABOUT + ". " + ABOUT)[:400],
    "policies": [ABOUT[:200]] * 7,
}


# --- unit: no model, no database ---------------------------------------------------------------


def test_text_filling_the_limit_ends_at_a_sentence_or_a_whole_word():
    stopped = ABOUT[: ABOUT.index("It highligh") + len("It highligh")]
    cut = card_rules.end_at_word(stopped, limit=len(stopped))
    assert cut.endswith("plan their week.")  # the last whole sentence
    no_sentence = "MOMENTS when a friend explains " + "why they cannot come " * 9
    cut = card_rules.end_at_word(no_sentence[:200], limit=200)
    assert cut.endswith("…") and no_sentence.startswith(cut[:-1])
    assert cut[:-1].split()[-1] in no_sentence.split()  # a whole word before the "…"
    assert card_rules.end_at_word("MOMENTS when he exp", limit=200) == "MOMENTS when he exp"


def test_repeated_policies_and_copies_of_the_description_are_named():
    policies = [
        "MOMENTS when a friend explains why",
        "moments when a friend explains why.",
        "REASONS a friend gives",
        "MOMENTS when a friend explains why they cancel",  # the first, continued: a repeat
        ABOUT[:60],
    ]
    assert card_rules.repeated_policies(policies, description=ABOUT) == {
        1: "repeats item 1",
        3: "repeats item 1",
        4: "repeats the description",
    }


def test_a_tidied_card_keeps_one_of_each_policy_and_no_cut_words():
    card = card_rules.tidy_card(
        title=GARBAGE["title"],
        description=GARBAGE["description"],
        policies=[*CARD["policies"], CARD["policies"][0], CARD["policies"][1][:30]],
    )
    assert card["policies"] == CARD["policies"]
    assert card["description"].endswith(".")  # 400 characters cut back to a whole sentence


def test_the_shape_rules_refuse_fewer_than_three_different_policies():
    errors = card_rules.draft_errors(
        title="Honest Friends",
        description="Say so.",
        policies=[CARD["policies"][0], CARD["policies"][0].lower(), CARD["policies"][1]],
    )
    assert errors == {
        "policies": "Write at least 3 different things to pay attention to "
        "(2 of them say different things)."
    }
    hints = card_rules.style_hints(
        title="Honest Friends",
        description="Say so.",
        policies=[CARD["policies"][0], CARD["policies"][0]],
    )
    assert hints["policies.2"] == "This item repeats item 1: say something else."


# --- through the services and the page ---------------------------------------------------------


@pytest.fixture
def chat(alice, llm_double, db):
    chat = chat_start(participant=alice, scenario=ScenarioFactory(question=QUESTION))
    message_post(chat=chat, text="I want them to be honest about being tired.")
    return chat


@pytest.mark.django_db
def test_a_card_of_copies_is_proposed_to_complete_and_cannot_be_approved_as_it_is(
    alice_client, chat, llm_double
):
    llm_double.reply_json(GARBAGE).reply_json(GARBAGE)

    [event] = chat_card_write(chat=chat)

    card = event.card
    # Seven cut copies of the description: one is left, ended at its last whole sentence.
    assert card.policies == [ABOUT[: ABOUT.index("week.") + len("week.")]]
    assert card.description == ABOUT + "."  # cut at 400 characters: whole sentences kept
    chat.refresh_from_db()
    assert chat.state == Chat.State.CARD_PROPOSED
    with pytest.raises(ValidationError, match="Complete the card before approving it"):
        card_approve(chat=chat)

    html = alice_client.get(reverse("elicitation:chat", args=[chat.pk])).content.decode()
    assert 'id="approve"' not in html
    assert 'id="card-incomplete"' in html and "Write at least 3 things to pay attention" in html
    assert html.count('name="policies"') >= 3  # empty fields to complete it in
    assert "This item repeats the description" in html

    answer = alice_client.post(
        reverse("elicitation:card_approve", args=[chat.pk]), HTTP_HX_REQUEST="true"
    )
    assert answer.status_code == 400
    chat.refresh_from_db()
    assert chat.state == Chat.State.CARD_PROPOSED

    card_edit(chat=chat, title="Honest Friends", description="Say so.", policies=CARD["policies"])
    assert card_approve(chat=chat).status == "approved"


@pytest.mark.django_db
def test_a_hand_written_card_of_repeated_items_is_refused_naming_the_policies(chat):
    with pytest.raises(ValidationError) as refused:
        card_edit(
            chat=chat,
            title="Honest Friends",
            description="Say so.",
            policies=[CARD["policies"][0]] * 3,
        )
    assert "3 different things" in refused.value.message_dict["policies"][0]
    chat.refresh_from_db()
    assert chat.card is None


# --- the title -----------------------------------------------------------------------------------

LONG_QUESTION = (
    "My dad said something cruel at dinner and I want to cut him off. Am I overreacting?"
)


def test_a_title_filling_the_limit_is_cut_after_a_whole_word_with_an_ellipsis():
    stopped = LONG_QUESTION[: card_rules.TITLE_MAX_CHARS]  # "… Am I overreact": what was seen
    title = card_rules.card_title(title=stopped)
    assert title == "My dad said something cruel at dinner and I want to cut him off. Am I…"
    assert len(title) <= card_rules.TITLE_MAX_CHARS
    assert card_rules.card_title(title="Honest friends") == "Honest friends"  # short: untouched


def test_a_title_cut_right_after_a_word_keeps_that_word():
    # 10 words and their spaces are 80 characters: the cut falls on the space after the tenth.
    title = card_rules.card_title(title="Honesty " * 10 + "more")
    assert title == " ".join(["Honesty"] * 10) + "…"
    assert title.count("Honesty") == 10 and len(title) <= card_rules.TITLE_MAX_CHARS


def test_a_title_copying_the_scenario_question_gives_way_to_one_from_a_policy():
    card = card_rules.tidy_card(
        title=LONG_QUESTION[: card_rules.TITLE_MAX_CHARS],
        description="Say so.",
        policies=["FEELINGS of the person asking for advice", "MOMENTS when a parent apologises"],
        question=LONG_QUESTION,
    )
    assert card["title"] == "Feelings of the person asking"
    assert card_rules.title_problem(card["title"]) is None  # 2 to 5 words: on style
    # No policy of that shape: the question stays, cut at a word.
    card = card_rules.tidy_card(
        title=LONG_QUESTION, description="Say so.", policies=["be kind"], question=LONG_QUESTION
    )
    assert card["title"].endswith("Am I…")
    # A title of its own is kept even when a policy could name one.
    card = card_rules.tidy_card(
        title="Family bonds",
        description="Say so.",
        policies=["FEELINGS of the person asking"],
        question=LONG_QUESTION,
    )
    assert card["title"] == "Family bonds"
