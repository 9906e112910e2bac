"""A tiny MGE-shaped dump, written on the spot, and where the real one lives (if it does)."""

import json
from pathlib import Path

import pytest

REAL_MGE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mge"


def _card(card_id: int, title: str, canonical: int | None = None, **extra) -> dict:
    card = {
        "id": card_id,
        "title": title,
        "instructionsShort": f"ChatGPT should {title.lower()}.",
        "instructionsDetailed": f"In detail: {title}.",
        "evaluationCriteria": [f"MOMENTS of {title.lower()}", "CHOICES that matter"],
        "createdAt": "2023-09-15T03:55:16.556Z",
        "updatedAt": "2023-09-27T16:05:26.088Z",
        **extra,
    }
    if canonical is not None or "canonicalCardId" in extra:
        card["canonicalCardId"] = canonical
    return card


def _vote(user: int, a: int, b: int, context: str, relationship: str, when: str) -> dict:
    return {
        "userId": user,
        "fromId": a,
        "toId": b,
        "story": f"I moved from {a} to {b}.",
        "contextId": context,
        "runId": "RUN1",
        "relationship": relationship,
        "comment": "because" if user == 1 else None,
        "createdAt": when,
        "updatedAt": when,
    }


def tiny_dump() -> dict[str, list]:
    """Return the files of a small dump: 3 canonical cards (ids shared with participant cards,
    as in the real one), 2 contexts, 2 cases and 6 votes, one of them after 2023-10-18."""
    early, late = "2023-10-01T10:00:00.000Z", "2023-11-01T10:00:00.000Z"
    return {
        "canonicalValuesCard.json": [
            _card(1, "Informed Autonomy"),
            _card(2, "Gentle Honesty"),
            _card(3, "Deep Care"),
        ],
        "valuesCard.json": [
            _card(1, "My Autonomy", canonical=1, chatId="x"),
            _card(2, "Honest Talk", canonical=2),
            _card(7, "Orphan Card", canonical=None, canonicalCardId=None),
        ],
        "cases.json": [
            {
                "id": "abortion",
                "title": "Abortion",
                "question": "What should I do?",
                "seedMessage": "Help us.",
            },
            {
                "id": "parenting",
                "title": "Parenting",
                "question": "How do I make him behave?",
                "seedMessage": "Help.",
            },
        ],
        "context.json": [{"id": "When in distress"}, {"id": "When making decisions"}],
        "contextsOnCases.json": [
            {"contextId": "When in distress", "caseId": "abortion"},
            {"contextId": "When making decisions", "caseId": "abortion"},
            {"contextId": "When making decisions", "caseId": "parenting"},
        ],
        "edge.json": [
            _vote(1, 1, 2, "When in distress", "upgrade", early),
            _vote(2, 1, 2, "When in distress", "upgrade", early),
            _vote(3, 1, 2, "When making decisions", "not_sure", early),
            _vote(1, 2, 3, "When in distress", "no_upgrade", early),
            _vote(2, 2, 3, "When in distress", "upgrade", early),
            _vote(3, 2, 3, "When in distress", "upgrade", late),
        ],
        "edgeHypothesis.json": [
            {
                "fromId": 3,
                "toId": 1,
                "story": "A newer story.",
                "contextId": "When in distress",
                "createdAt": "2024-06-06T00:12:33.501Z",
                "updatedAt": "2024-06-06T00:12:33.501Z",
                "runId": "RUN2",
            }
        ],
    }


def write_dump(directory: Path, files: dict[str, list]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        (directory / name).write_text(json.dumps(rows))
    return directory


@pytest.fixture
def tiny_mge(tmp_path) -> Path:
    return write_dump(tmp_path / "mge", tiny_dump())


@pytest.fixture
def real_mge() -> Path:
    if not (REAL_MGE / "edge.json").is_file():
        pytest.skip("the MGE study's data (../shared/data/mge) is not here")
    return REAL_MGE


class World:
    """A deliberation "mg" with two scenarios, a context for each, five values and Alice's card.

    Values A, B, C belong to "When in distress" (A and B through scenario s1, C written for the
    context itself); D and E to "When making decisions" (scenario s2). Alice wrote a card merged
    into A, so A is her value.
    """

    def __init__(self, alice):
        from elicitation.models import Deliberation, MoralContext, Scenario, ValuesCard

        self.deliberation = Deliberation.objects.create(name="mg", title="Moral graph study")
        d = self.deliberation
        self.s1 = Scenario.objects.create(deliberation=d, title="Distress", question="Help me?")
        self.s2 = Scenario.objects.create(deliberation=d, title="Choices", question="Choose?")
        self.distress = MoralContext.objects.create(deliberation=d, text="When in distress")
        self.distress.scenarios.add(self.s1)
        self.deciding = MoralContext.objects.create(deliberation=d, text="When making decisions")
        self.deciding.scenarios.add(self.s2)

        def card(title, description, **extra):
            return ValuesCard.objects.create(
                deliberation=d,
                title=title,
                description=description,
                policies=[f"MOMENTS of {title.lower()}", "CHOICES that matter"],
                **extra,
            )

        self.a = card("Honest care", "Tell the truth kindly and care", scenario=self.s1)
        self.b = card("Gentle honesty", "Tell the truth gently and kindly", scenario=self.s1)
        self.c = card("Deep care", "Stay with the person in their pain", context=self.distress)
        self.d = card("Informed choice", "Lay out options and facts", scenario=self.s2)
        self.e = card("Own path", "Let the person find their own options", scenario=self.s2)
        self.alice_card = card("My honesty", "Be honest", scenario=self.s1, canonical=self.a)
        self.alice_card.author = alice
        self.alice_card.save()
        # Votes count only from participants of a study with this voting task.
        from core.models import Participation, Study, StudyTask

        self.study = Study.objects.create(slug="mg-voting", title="Voting", completion_code="MG")
        self.task = StudyTask.objects.create(
            study=self.study,
            kind="moralgraph.vote",
            title="Judge stories",
            position=0,
            config={"deliberation": "mg"},
        )
        Participation.objects.create(study=self.study, user=alice)

    def enrol(self, *voters):
        """Make ``voters`` participants of the world's voting study; return them."""
        from core.models import Participation

        for voter in voters:
            Participation.objects.get_or_create(study=self.study, user=voter)
        return voters

    def story(self, context, from_card, to_card, text="I used to … and then I saw more."):
        from moralgraph.models import UpgradeStory

        return UpgradeStory.objects.create(
            deliberation=self.deliberation,
            context=context,
            from_card=from_card,
            to_card=to_card,
            story=text,
        )


@pytest.fixture
def world(alice, bob) -> World:
    world = World(alice)
    world.enrol(bob)
    return world


def make_voter(username: str | None = None):
    """Return a new participant without a password (hashing one costs a second on 2 cores)."""
    import uuid

    from core.models import Participation, Study, User

    voter = User.objects.create(
        username=username or f"voter-{uuid.uuid4().hex[:10]}", role=User.Role.PARTICIPANT
    )
    # A participant of every study that votes (votes count only from such participants).
    for study in Study.objects.filter(tasks__kind="moralgraph.vote").distinct():
        Participation.objects.create(study=study, user=voter)
    return voter
