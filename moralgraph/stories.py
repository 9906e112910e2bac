"""Upgrade stories: pick candidate pairs of values per context and ask the LLM to tell each one.

For each context, the candidate values are the canonical cards linked to it (a card, or one of
its duplicates, written for the context or for one of its scenarios). Each value is paired with
its ``pairs_per_card`` nearest values by embedding; every pair is told in both directions, so
"B is wiser than A" can be told apart from a story that merely sounds good. Stories are only
ever added: a run writes each ordered pair once (``run_id``), and a pair that already has a
story from the current prompt version is skipped unless the run asks to regenerate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Q
from pydantic import BaseModel, Field

from core import llm
from elicitation.clustering import cosine_matrix
from elicitation.dedup import cards_embed
from elicitation.models import CardEmbedding, Deliberation, MoralContext, ValuesCard
from moralgraph.models import GraphSettings, UpgradeStory

PROMPT_NAME = "moralgraph.upgrade_story"
PROMPT_VERSION = "2026-11-24.1"

SYSTEM_PROMPT = """\
You help run a study of how people's values mature. You are given a situation (a "context") and \
two values, A and B. Each value is a way of paying attention when choosing well: a title, a \
short description, and attention policies (the things a person attends to).

Write a short, believable first-person story (60 to 150 words) of one person who, in this \
context, used to live by value A and came to live by value B, and who now sees that as becoming \
wiser: what happened, what they noticed, why B captures what mattered to them in A, and more. \
Plain words, no names of real people, no lists, no advice to the reader.

Also say in one sentence what value A "was really about" - the deeper thing that B serves \
better - and, for each of A's policies in order, which policy of B it became (quote B's policy, \
or say briefly what it turned into).

Answer with JSON only."""


class PolicyMapping(BaseModel):
    from_policy: str = Field(min_length=1, max_length=500)
    to_policy: str = Field(min_length=1, max_length=500)


class StoryDraft(BaseModel):
    """What the LLM returns for one ordered pair."""

    story: str = Field(min_length=20, max_length=2000)
    was_really_about: str = Field(min_length=3, max_length=500)
    policy_map: list[PolicyMapping] = Field(max_length=20)


def _value_text(card: ValuesCard) -> str:
    policies = "\n".join(f"  - {policy}" for policy in card.policies) or "  (none)"
    return f"Title: {card.title}\nDescription: {card.description}\nPolicies:\n{policies}"


def story_messages(*, context: MoralContext, from_card: ValuesCard, to_card: ValuesCard) -> list:
    """Return the messages that ask for the story of moving from ``from_card`` to ``to_card``."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {
            "role": "user",
            "content": (
                f"Context: {context.text}\n\n"
                f"Value A (where the person started):\n{_value_text(from_card)}\n\n"
                f"Value B (where the person ended up):\n{_value_text(to_card)}"
            ),
        },
    ]


def cards_for_context(context: MoralContext) -> list[ValuesCard]:
    """Return the canonical cards linked to ``context``: written for it or for its scenarios,
    directly or through one of their duplicates."""
    scenario_ids = list(context.scenarios.values_list("pk", flat=True))
    linked = Q(context=context) | Q(scenario_id__in=scenario_ids)
    # A card proposed in an interview is not a value until its author approves it.
    approved = ValuesCard.objects.filter(status=ValuesCard.Status.APPROVED)
    linked_ids = approved.filter(linked, deliberation_id=context.deliberation_id)
    canonical_ids = set()
    for pk, canonical_id in linked_ids.values_list("pk", "canonical_id"):
        canonical_ids.add(canonical_id or pk)
    return list(approved.filter(pk__in=canonical_ids, canonical__isnull=True).order_by("pk"))


def nearest_pairs(vectors: np.ndarray, per_item: int) -> list[tuple[int, int]]:
    """Return unordered index pairs ``(i, j)``, ``i < j``: each item with its ``per_item``
    nearest items by cosine similarity (ties broken by index)."""
    count = len(vectors)
    if count < 2 or per_item < 1:
        return []
    similarity = cosine_matrix(vectors)
    np.fill_diagonal(similarity, -np.inf)
    pairs = set()
    take = min(per_item, count - 1)
    for index in range(count):
        # argsort is stable on -similarity, so equal similarities keep index order.
        for other in np.argsort(-similarity[index], kind="stable")[:take]:
            pairs.add((min(index, int(other)), max(index, int(other))))
    return sorted(pairs)


def card_vectors(cards: list[ValuesCard]) -> dict[int, np.ndarray]:
    """Return each card's embedding by id, embedding (through elicitation's cache, keyed by the
    card's wording and the embedding model) only the cards not embedded yet."""
    cards_embed(cards=cards)
    rows = CardEmbedding.objects.filter(card__in=cards).values_list("card_id", "vector")
    return {card_id: np.frombuffer(bytes(vector), dtype="<f4") for card_id, vector in rows}


def candidate_pairs(
    *, deliberation: Deliberation, per_card: int, contexts: list[MoralContext], user=None
) -> dict[int, list[tuple[ValuesCard, ValuesCard]]]:
    """Return, per context id, the ordered pairs to tell: both directions of each nearest pair."""
    by_context: dict[int, list[tuple[ValuesCard, ValuesCard]]] = {}
    cards_by_context = {context.pk: cards_for_context(context) for context in contexts}
    embedded = card_vectors(
        list({card.pk: card for cards in cards_by_context.values() for card in cards}.values())
    )
    for context in contexts:
        cards = cards_by_context[context.pk]
        if len(cards) < 2:
            by_context[context.pk] = []
            continue
        matrix = np.stack([embedded[card.pk] for card in cards])
        ordered = []
        for i, j in nearest_pairs(matrix, per_card):
            ordered += [(cards[i], cards[j]), (cards[j], cards[i])]
        by_context[context.pk] = ordered
    return by_context


def stories_generate(
    *,
    deliberation: Deliberation,
    run_id: str,
    context_ids: list[int] | None = None,
    per_card: int | None = None,
    regenerate: bool = False,
    user=None,
    report: Callable[[int, int, str], None] | None = None,
) -> dict:
    """Write a story for every candidate ordered pair of the deliberation's contexts; return counts.

    Safe to run again with the same ``run_id`` (a retried job): pairs this run already told are
    skipped. ``LLMUnavailable`` propagates (the job retries later, keeping what it wrote); an
    answer that never fits the schema skips that pair and is counted as failed.
    """
    settings_row, _created = GraphSettings.objects.get_or_create(deliberation=deliberation)
    per_card = per_card if per_card is not None else settings_row.pairs_per_card
    contexts = MoralContext.objects.filter(deliberation=deliberation).order_by("pk")
    if context_ids:
        contexts = contexts.filter(pk__in=context_ids)
    contexts = list(contexts)
    pairs = candidate_pairs(
        deliberation=deliberation, per_card=per_card, contexts=contexts, user=user
    )
    told = defaultdict(set)  # context id → {(from id, to id)} already told
    existing = UpgradeStory.objects.filter(deliberation=deliberation)
    existing = (
        existing.filter(run_id=run_id)
        if regenerate
        else existing.filter(
            Q(run_id=run_id) | Q(prompt_name=PROMPT_NAME, prompt_version=PROMPT_VERSION)
        )
    )
    for context_id, from_id, to_id in existing.values_list(
        "context_id", "from_card_id", "to_card_id"
    ):
        told[context_id].add((from_id, to_id))
    todo = [
        (context, from_card, to_card)
        for context in contexts
        for from_card, to_card in pairs[context.pk]
        if (from_card.pk, to_card.pk) not in told[context.pk]
    ]
    counts = {
        "candidate_pairs": sum(len(p) for p in pairs.values()),
        "already_told": sum(len(p) for p in pairs.values()) - len(todo),
        "written": 0,
        "failed": 0,
    }
    for index, (context, from_card, to_card) in enumerate(todo):
        if report:
            report(index, len(todo), f"Story {index + 1} of {len(todo)}: {context.text[:60]}")
        try:
            draft = llm.structured(
                story_messages(context=context, from_card=from_card, to_card=to_card),
                schema=StoryDraft,
                purpose="moralgraph.story",
                user=user,
            )
        except (llm.LLMInvalidOutput, llm.LLMRefused):
            # One pair the model could not tell (or the server refused: too long, say) is
            # counted and skipped; an outage stops the run, to be retried later.
            counts["failed"] += 1
            continue
        story = UpgradeStory(
            deliberation=deliberation,
            context=context,
            from_card=from_card,
            to_card=to_card,
            story=draft.story.strip(),
            was_really_about=draft.was_really_about.strip(),
            policy_map=[{"from": m.from_policy, "to": m.to_policy} for m in draft.policy_map],
            prompt_name=PROMPT_NAME,
            prompt_version=PROMPT_VERSION,
            run_id=run_id,
        )
        story.full_clean(validate_constraints=False)
        try:
            with transaction.atomic():
                story.save()
        except IntegrityError:
            continue  # another delivery of this run told the pair first
        counts["written"] += 1
    if report:
        report(len(todo), len(todo), f"Wrote {counts['written']} stories.")
    return counts
