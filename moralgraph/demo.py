"""The moral graph's demo: a small deliberation with stories told both ways, a few votes, and a
voting task in the demo study (called by ``seed_demo``; safe to run again)."""

from django.utils import timezone

from core.demo import demo_study_task_add
from core.models import User
from elicitation.models import Deliberation, MoralContext, Scenario, ValuesCard
from moralgraph.models import StoryImpression, UpgradeStory, Vote
from moralgraph.snapshots import snapshots_recompute
from moralgraph.study_tasks import KIND

DEMO_DELIBERATION = "demo-graph"
DEMO_PROMPT = "moralgraph.demo"

CARDS = {
    "truth": (
        "Plain truth",
        "Tell people the facts straight, so they can decide for themselves.",
        ["FACTS the person has not heard yet", "RISKS they would want to know about"],
    ),
    "gentle": (
        "Truth with care",
        "Tell the truth in a way the person can take in right now.",
        ["SIGNS of how much the person can hear today", "WORDS that leave room for hope"],
    ),
    "presence": (
        "Being there",
        "Stay with the person in what they feel before trying to fix anything.",
        ["FEELINGS the person has not named yet", "MOMENTS when silence helps more than advice"],
    ),
    "options": (
        "Laying out options",
        "Show every option and what follows from each.",
        ["OPTIONS the person has not considered", "CONSEQUENCES of each path"],
    ),
    "own_path": (
        "Their own path",
        "Help the person find which option fits the life they want.",
        ["VALUES the person keeps coming back to", "CHOICES that would feel like theirs"],
    ),
}

# (context, from, to, story): every pair is told both ways.
STORIES = [
    (
        "distress",
        "truth",
        "gentle",
        "I used to think honesty meant saying everything at once. When my friend got bad news, "
        "I saw her shut down. Now I still tell the truth, but at a pace she can take in.",
    ),
    (
        "distress",
        "gentle",
        "truth",
        "I used to soften every hard fact. Then a friend told me she felt managed. Now I say it "
        "plainly and trust her to carry it.",
    ),
    (
        "distress",
        "gentle",
        "presence",
        "I used to choose my words so carefully that I forgot to listen. Sitting quietly with "
        "my brother taught me that being there came before any words.",
    ),
    (
        "distress",
        "presence",
        "gentle",
        "I used to only sit with people. I learned that, when they were ready, a careful truth "
        "was also a way of being with them.",
    ),
    (
        "deciding",
        "options",
        "own_path",
        "I used to hand people a list of every option. A student once said the list made her "
        "feel lost. Now I ask what matters to her first, then we look at the options.",
    ),
    (
        "deciding",
        "own_path",
        "options",
        "I used to ask people what they wanted before they knew what was possible. Showing "
        "them the options first gave them something real to choose from.",
    ),
]

# (context, from, to): the answers of the demo's researcher and admin (core's demo users; new
# users would change the demo's numbers of participants), enough for the majority rule's edges.
VOTES = {
    ("distress", "truth", "gentle"): ["wiser", "wiser"],
    ("distress", "gentle", "truth"): ["not_wiser", "unsure"],
    ("distress", "gentle", "presence"): ["wiser", "wiser"],
    ("distress", "presence", "gentle"): ["not_wiser", "wiser"],
    ("deciding", "options", "own_path"): ["wiser", "wiser"],
    ("deciding", "own_path", "options"): ["wiser", "wiser"],
}
DEMO_VOTERS = ["researcher", "admin"]


def seed_demo() -> list[str]:
    """Create the demo deliberation, stories, votes and voting task if missing; say what."""
    deliberation, created = Deliberation.objects.get_or_create(
        name=DEMO_DELIBERATION, defaults={"title": "Demo moral graph"}
    )
    if created:
        scenario = Scenario.objects.create(
            deliberation=deliberation,
            title="Hard news",
            question="My friend just got a hard diagnosis. What should I say?",
        )
        choice = Scenario.objects.create(
            deliberation=deliberation,
            title="A big choice",
            question="I can't decide whether to change careers. Help me?",
        )
        contexts = {
            "distress": MoralContext.objects.create(
                deliberation=deliberation, text="When the person is in distress"
            ),
            "deciding": MoralContext.objects.create(
                deliberation=deliberation, text="When the person faces a big decision"
            ),
        }
        contexts["distress"].scenarios.add(scenario)
        contexts["deciding"].scenarios.add(choice)
        cards = {
            key: ValuesCard.objects.create(
                deliberation=deliberation,
                title=title,
                description=description,
                policies=policies,
                scenario=scenario if key in ("truth", "gentle", "presence") else choice,
            )
            for key, (title, description, policies) in CARDS.items()
        }
        stories = {}
        for context, from_key, to_key, text in STORIES:
            stories[(context, from_key, to_key)] = UpgradeStory.objects.create(
                deliberation=deliberation,
                context=contexts[context],
                from_card=cards[from_key],
                to_card=cards[to_key],
                story=text,
                prompt_name=DEMO_PROMPT,
                prompt_version="1",
            )
        voters = list(User.objects.filter(username__in=DEMO_VOTERS).order_by("username"))
        now = timezone.now()
        for key, choices in VOTES.items():
            story = stories[key]
            for voter, answer in zip(voters, choices, strict=False):
                StoryImpression.objects.create(voter=voter, story=story)
                Vote.objects.create(
                    deliberation=deliberation,
                    context=story.context,
                    from_card=story.from_card,
                    to_card=story.to_card,
                    story=story,
                    voter=voter,
                    choice=answer,
                    created=now,
                )
        snapshots_recompute(deliberation=deliberation, force=True)
    lines = [f"{'created' if created else 'kept'} moral graph demo deliberation {deliberation}"]
    if demo_study_task_add(
        kind=KIND,
        title="Judge wiser-than stories",
        instructions="Read short stories and say whether the person became wiser.",
        order=10,
        config={"deliberation": DEMO_DELIBERATION, "votes": 3},
    ):
        lines.append("added a moral graph voting task to the demo study")
    return lines
