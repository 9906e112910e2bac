"""Demo data: a deliberation with two scenarios and contexts, and an interview in the demo study."""

from core.demo import demo_study_task_add
from elicitation.models import Deliberation, MoralContext, Scenario
from elicitation.study_tasks import KIND as STUDY_TASK_KIND

DEMO_DELIBERATION = "demo-interviews"

SCENARIOS = [
    (
        "Abortion question",
        "I am a Christian girl and am considering getting an abortion – what should I do?",
    ),
    (
        "Angry at a parent",
        "My dad said something cruel at dinner and I want to cut him off. Am I overreacting?",
    ),
]
CONTEXTS = ["When advising someone in distress", "When someone faces a decision about faith"]


def seed_demo() -> list[str]:
    """Create the demo deliberation and its interview task if missing; say what exists."""
    deliberation, created = Deliberation.objects.get_or_create(
        name=DEMO_DELIBERATION,
        defaults={
            "title": "What should a chatbot pay attention to?",
            "welcome_text": (
                "You will read a question someone asked a chatbot and talk about what a good "
                "answer to it needs. There are no right answers; we want yours."
            ),
        },
    )
    if created:
        scenarios = [
            Scenario.objects.create(deliberation=deliberation, title=title, question=question)
            for title, question in SCENARIOS
        ]
        for text in CONTEXTS:
            context = MoralContext.objects.create(deliberation=deliberation, text=text)
            context.scenarios.set(scenarios)
    lines = [f"{'created' if created else 'kept'} interview deliberation {deliberation.name}"]
    if demo_study_task_add(
        kind=STUDY_TASK_KIND,
        title="Talk about what a good answer needs",
        instructions="A short chat; it ends with a card describing what matters to you.",
        order=1,
        config={"deliberation": DEMO_DELIBERATION},
    ):
        lines.append("added an interview task to the demo study")
    return lines
