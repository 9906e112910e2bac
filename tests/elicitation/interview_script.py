"""A scripted interview for the LLM double: what the interviewer says, and the card it writes."""

from elicitation.interview import SUBMIT_MARKER

QUESTIONS = [
    "Can you tell me about a time when someone helped you with a hard decision?",
    "What were you paying attention to when you felt it was going well?",
]
CLOSING = f"Thank you, I will now write that up as a card for you to check. {SUBMIT_MARKER}"
CARD = {
    "title": "Room to Decide",
    "description": "A good answer helps the person hear their own reasons before choosing.",
    "policies": [
        "MOMENTS when the person names what they already know",
        "FEARS they have not said out loud yet",
        "OPTIONS the person had not considered before",
    ],
}


def script_interview(double, *, turns: int = 2) -> None:
    """Queue ``turns`` interviewer questions, then the closing reply and the card."""
    for question in QUESTIONS[:turns]:
        double.reply(question)
    double.reply(CLOSING)
    double.reply_tool_call("submit_values_card", CARD)
