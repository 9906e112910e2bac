"""The structured call the interview depends on, as a step of "Check the LLM"."""

from core import llm
from elicitation import card_rules, interview

SAMPLE_TRANSCRIPT = [
    ("assistant", "What do you think a good response should consider?"),
    (
        "user",
        "When my friend was grieving, what helped was someone who listened before giving "
        "advice and noticed when she wanted to be left alone.",
    ),
    ("assistant", "What told you it was going well?"),
    ("user", "She started talking about her mother on her own, and she smiled once."),
]


def check_values_card(user) -> str:
    """Ask for a values card from a short sample interview; return its title and policy count."""
    prompt = interview.CURRENT_PROMPT
    card = llm.structured(
        interview.distill_messages(
            prompt,
            question="My friend lost her mother. What should I say to her?",
            transcript=SAMPLE_TRANSCRIPT,
        ),
        schema=card_rules.ValuesCardShape,
        purpose="core.llm_check",
        user=user,
    )
    return f"“{card.title}” with {len(card.policies)} policies"
