"""The de-duplication run: cluster the new cards, confirm each merge with the LLM, record it;
its start (a job) and the schedule that starts one per deliberation with work to do."""

import logging
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from core import llm
from core.jobs import JobProgress, job_key, job_start
from core.llm.gateway import get_backend
from core.models import Job, User
from elicitation.clustering import agglomerate, medoid, normalised
from elicitation.dedup.embeddings import card_text_hash, cards_embed, embedding_vector
from elicitation.dedup.same_value import (
    SAME_VALUE_PROMPT_VERSION,
    Confirm,
    SameValue,
    cards_same_value,
)
from elicitation.models import CardEmbedding, DedupDecision, Deliberation, ValuesCard
from elicitation.services.cards import card_merge

logger = logging.getLogger(__name__)


DEDUP_JOB = "elicitation.dedup"


DEFAULT_THRESHOLD = 0.75


SCHEDULE_BUCKET_SECONDS = 600


def dedup_threshold() -> float:
    """Return the similarity above which two clusters are candidates for one value."""
    return float(getattr(settings, "ELICITATION_DEDUP_THRESHOLD", DEFAULT_THRESHOLD))


@dataclass
class _Comparison:
    """What the run learnt while clustering, written to the database at the end."""

    # card → the verdicts (reason, the two cards judged) of the merges that built its cluster
    reasons: dict[int, list[tuple[str, int, int]]] = field(default_factory=dict)
    distinct: list[tuple[ValuesCard, ValuesCard, str, float]] = field(default_factory=list)
    unsure: set[int] = field(default_factory=set)  # cards to look at again next run
    asked: int = 0


def _cards_in_scope(deliberation: Deliberation) -> list[ValuesCard]:
    cards = ValuesCard.objects.filter(deliberation=deliberation)
    status = getattr(ValuesCard, "Status", None)
    if status is not None:
        # Only cards their authors approved are values; a proposed card may still change.
        cards = cards.filter(status=status.APPROVED)
    return list(cards.select_related("embedding").order_by("pk"))


def _known_apart(deliberation: Deliberation) -> set[frozenset[int]]:
    """Return the pairs of cards a person or the LLM already judged to be different values."""
    rows = DedupDecision.objects.filter(
        deliberation=deliberation,
        action__in=[DedupDecision.Action.DISTINCT, DedupDecision.Action.SPLIT],
        other__isnull=False,
    ).values_list("card_id", "other_id")
    return {frozenset(pair) for pair in rows}


def dedup_run(
    *,
    deliberation: Deliberation,
    threshold: float | None = None,
    confirm: Confirm | None = None,
    job: Job | None = None,
    progress: JobProgress | None = None,
) -> dict:
    """De-duplicate the deliberation's new cards; return what was embedded, merged and kept apart.

    ``confirm`` judges each candidate pair (default: the LLM, ``cards_same_value``).
    """
    threshold = dedup_threshold() if threshold is None else float(threshold)
    confirm = confirm or cards_same_value
    cards = _cards_in_scope(deliberation)
    embedded = cards_embed(cards=cards, progress=progress)
    embeddings = {e.card_id: e for e in CardEmbedding.objects.filter(card__in=cards)}
    cards = [card for card in cards if card.pk in embeddings]
    index_of = {card.pk: index for index, card in enumerate(cards)}
    has_duplicates = {card.canonical_id for card in cards if card.canonical_id}

    def is_new(card: ValuesCard) -> bool:
        return (
            card.canonical_id is None
            and card.pk not in has_duplicates
            and embeddings[card.pk].checked_hash != card_text_hash(card)
        )

    new_cards = [card for card in cards if is_new(card)]
    summary = {
        "embedded": embedded,
        "cards": len(cards),
        "new": len(new_cards),
        "merged": 0,
        "kept_apart": 0,
        "llm_questions": 0,
        "threshold": threshold,
    }
    if not new_cards:
        return summary
    if progress is not None:
        progress.update(message=f"Comparing {len(new_cards)} new cards", total=len(new_cards))

    vectors = normalised(np.stack([embedding_vector(embeddings[card.pk]) for card in cards]))
    groups: dict[int, list[int]] = {}
    for card in cards:
        root = card.canonical_id or card.pk
        if root in index_of:
            groups.setdefault(root, []).append(index_of[card.pk])
    new_ids = {card.pk for card in new_cards}
    group_list = list(groups.values())
    fixed = [cards[group[0]].pk not in new_ids or len(group) > 1 for group in group_list]
    apart = _known_apart(deliberation)
    learnt = _Comparison()
    verdicts: dict[frozenset[int], SameValue | None] = {}

    def representative(members: list[int]) -> ValuesCard:
        settled = [
            cards[i] for i in members if cards[i].pk not in new_ids and cards[i].is_canonical
        ]
        return settled[0] if settled else cards[medoid(members, vectors)]

    def may_merge(first: list[int], second: list[int], link: float) -> bool:
        card, other = representative(first), representative(second)
        if (card.pk in new_ids, card.pk) < (other.pk in new_ids, other.pk):
            # The decision is recorded on the new card, or on the later of two new ones.
            card, other = other, card
        pair = frozenset((card.pk, other.pk))
        if pair in apart:
            return False
        if pair not in verdicts:
            learnt.asked += 1
            try:
                verdicts[pair] = confirm(card, other)
            except llm.LLMInvalidOutput as error:
                logger.warning("No verdict on cards %s and %s: %s", card.pk, other.pk, error)
                verdicts[pair] = None
            if progress is not None:
                # Also the heartbeat that keeps a long run from being taken for a dead one.
                progress.update(message=f"Asked about {learnt.asked} candidate pairs")
        verdict = verdicts[pair]
        if verdict is None:
            learnt.unsure.update(cards[i].pk for i in first + second if cards[i].pk in new_ids)
            return False
        if not verdict.same:
            learnt.distinct.append((card, other, verdict.reason, link))
            return False
        for i in first + second:
            learnt.reasons.setdefault(cards[i].pk, []).append((verdict.reason, card.pk, other.pk))
        return True

    clusters = agglomerate(
        vectors, groups=group_list, threshold=threshold, fixed=fixed, may_merge=may_merge
    )
    summary["llm_questions"] = learnt.asked
    plan: list[tuple[ValuesCard, ValuesCard]] = []  # (new card, canonical it joins)
    for members in clusters:
        if not any(cards[i].pk in new_ids for i in members):
            continue
        canonical = representative(members)
        plan += [
            (cards[i], canonical)
            for i in members
            if cards[i].pk in new_ids and cards[i].pk != canonical.pk
        ]
    summary.update(
        _dedup_write(
            deliberation=deliberation,
            new_cards=new_cards,
            plan=plan,
            learnt=learnt,
            vectors={card.pk: vectors[index_of[card.pk]] for card in cards},
            job=job,
        )
    )
    summary["clusters_with_new_cards"] = sum(
        1 for members in clusters if any(cards[i].pk in new_ids for i in members)
    )
    return summary


def _merge_reason(verdicts: list[tuple[str, int, int]], *, card_id: int, into_id: int) -> str:
    """Return the reason to record for merging ``card_id`` into ``into_id``.

    The verdict about exactly these two cards if there was one, else one about ``into_id``, else
    the first; a verdict about other members of the cluster names the two cards it was about.
    """
    exact = [v for v in verdicts if {v[1], v[2]} == {card_id, into_id}]
    about_canonical = [v for v in verdicts if into_id in v[1:]]
    chosen = (exact or about_canonical or verdicts or [("", card_id, into_id)])[0]
    reason, first, second = chosen
    if {first, second} == {card_id, into_id}:
        return reason
    titles = dict(ValuesCard.objects.filter(pk__in=[first, second]).values_list("pk", "title"))
    return f"Via “{titles.get(first, '?')}” and “{titles.get(second, '?')}”: {reason}"


@transaction.atomic
def _dedup_write(
    *,
    deliberation: Deliberation,
    new_cards: list[ValuesCard],
    plan: list[tuple[ValuesCard, ValuesCard]],
    learnt: _Comparison,
    vectors: dict[int, np.ndarray],
    job: Job | None,
) -> dict:
    """Apply the run's merges and record its decisions, skipping cards that changed meanwhile."""
    # One writer per deliberation at a time; a second run waits here, then finds nothing new.
    Deliberation.objects.select_for_update().filter(pk=deliberation.pk).first()
    ids = [card.pk for card in new_cards]
    current = {
        card.pk: card
        for card in ValuesCard.objects.filter(pk__in=ids)
        .select_related("embedding")
        .annotate(n_duplicates=Count("duplicates"))
    }
    hashes = {card.pk: card_text_hash(card) for card in new_cards}

    def still_new(card_id: int) -> bool:
        card = current.get(card_id)
        return (
            card is not None
            and card.canonical_id is None
            and card.n_duplicates == 0
            and card_text_hash(card) == hashes[card_id]
            and card.embedding.checked_hash != hashes[card_id]
        )

    model = get_backend().chat_model(None)
    fresh = {card_id for card_id in ids if still_new(card_id)}
    merged = 0
    for card, canonical in plan:
        if card.pk not in fresh or card.pk in learnt.unsure:
            continue
        into = ValuesCard.objects.get(pk=canonical.pk)
        if into.canonical_id is not None:
            continue  # merged elsewhere while we were asking; the next run looks again
        card_merge(card=current[card.pk], into=into)
        reason = _merge_reason(learnt.reasons.get(card.pk, []), card_id=card.pk, into_id=into.pk)
        DedupDecision.objects.create(
            deliberation=deliberation,
            card_id=card.pk,
            other=into,
            action=DedupDecision.Action.MERGE,
            source=DedupDecision.Source.LLM,
            reason=reason,
            similarity=float(vectors[card.pk] @ vectors[into.pk]),
            prompt_version=SAME_VALUE_PROMPT_VERSION,
            model=model,
            job=job,
        )
        merged += 1
    kept_apart = 0
    for card, other, reason, link in learnt.distinct:
        if card.pk not in fresh:
            continue
        DedupDecision.objects.create(
            deliberation=deliberation,
            card_id=card.pk,
            other_id=other.pk,
            action=DedupDecision.Action.DISTINCT,
            source=DedupDecision.Source.LLM,
            reason=reason,
            similarity=link,
            prompt_version=SAME_VALUE_PROMPT_VERSION,
            model=model,
            job=job,
        )
        kept_apart += 1
    for card_id in fresh - learnt.unsure:
        CardEmbedding.objects.filter(card_id=card_id).update(checked_hash=hashes[card_id])
    return {"merged": merged, "kept_apart": kept_apart, "left_for_next_run": len(learnt.unsure)}


def dedup_start(
    *,
    deliberation: Deliberation,
    created_by: User | None = None,
    threshold: float | None = None,
    token: str | None = None,
) -> Job:
    """Start a de-duplication job for ``deliberation`` (the same ``token`` starts it once)."""
    if threshold is not None and not 0 < threshold <= 1:
        raise ValidationError({"threshold": "The similarity threshold must be in (0, 1]."})
    params: dict = {"deliberation": deliberation.pk}
    if threshold is not None:
        params["threshold"] = threshold
    return job_start(
        kind=DEDUP_JOB,
        params=params,
        created_by=created_by,
        idempotency_key=job_key("dedup", deliberation.pk, token=token),
    )


def deliberations_needing_dedup() -> list[Deliberation]:
    """Return the deliberations with cards to embed or to compare."""
    needing = set()
    cards = ValuesCard.objects.select_related("embedding").annotate(
        n_duplicates=Count("duplicates")
    )
    status = getattr(ValuesCard, "Status", None)
    if status is not None:
        cards = cards.filter(status=status.APPROVED)
    for card in cards.iterator():
        if card.deliberation_id in needing:
            continue
        embedding = getattr(card, "embedding", None)
        wording = card_text_hash(card)
        if embedding is None or embedding.text_hash != wording:
            needing.add(card.deliberation_id)
        elif card.canonical_id is None and not card.n_duplicates:
            if embedding.checked_hash != wording:
                needing.add(card.deliberation_id)
    return list(Deliberation.objects.filter(pk__in=needing))


def dedup_schedule() -> list[Job]:
    """Start a job for each deliberation with work to do and none under way (one per 10 minutes).

    Return the jobs of this ten minutes' slot (started now or by an earlier call in the slot).
    """
    bucket = int(timezone.now().timestamp()) // SCHEDULE_BUCKET_SECONDS
    jobs = []
    for deliberation in deliberations_needing_dedup():
        key = f"schedule-{bucket}"
        under_way = (
            Job.objects.filter(kind=DEDUP_JOB, params__deliberation=deliberation.pk)
            .exclude(status__in=Job.FINISHED)
            .exclude(idempotency_key=job_key("dedup", deliberation.pk, token=key))
        )
        if not under_way.exists():
            # A long run still asking the LLM is left to finish rather than doubled.
            jobs.append(dedup_start(deliberation=deliberation, token=key))
    return jobs
