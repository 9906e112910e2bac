"""Moral contexts proposed by the LLM from a scenario, de-duplicated, approved by a researcher.

The LLM proposes short contexts ("When the person is in distress") for a scenario; proposals
that are near-duplicates (by embedding) of each other, of an existing context or of an earlier
proposal are dropped; the rest wait as ``ContextProposal`` rows until a researcher approves one
(it becomes a ``MoralContext`` of the scenario) or rejects it.
"""

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from pydantic import BaseModel, Field

from core import llm
from core.jobs import job_key, job_start
from core.models import Job, User
from elicitation.clustering import normalised
from elicitation.models import ContextProposal, MoralContext, Scenario

CONTEXTS_JOB = "elicitation.contexts_propose"
PURPOSE = "elicitation.contexts"
PURPOSE_EMBED = "elicitation.contexts.embed"
DUPLICATE_SIMILARITY = 0.9
CONTEXTS_PROMPT_VERSION = "contexts/1"
CONTEXTS_PROMPT = """\
You help researchers study what people think a chatbot should pay attention to when it answers a \
question. Given a question someone might ask a chatbot, list the distinct situations the asker \
might be in that would change what a wise answer looks like.

Write each situation as a short phrase starting with "When", in plain words, at most 12 words, \
e.g. "When the person is in distress" or "When the decision cannot be undone". Each must differ \
in what it would change about a good answer; do not repeat one idea in other words.

Answer in JSON: {"contexts": [string, ...]}."""


class ContextList(BaseModel):
    """The LLM's proposed contexts."""

    contexts: list[str] = Field(min_length=1, max_length=10)


def _clean_text(text: str) -> str:
    text = " ".join(text.split()).strip(" .;")
    return text[:1].upper() + text[1:]


def contexts_propose(*, scenario: Scenario, user: User | None = None) -> dict:
    """Ask the LLM for contexts of ``scenario``; store the new, distinct ones as pending proposals.

    Return how many were proposed, stored, and dropped as duplicates.
    """
    messages = [
        {"role": "system", "content": CONTEXTS_PROMPT},
        {"role": "user", "content": f"The question: {scenario.question}"},
    ]
    answer = llm.structured(messages, schema=ContextList, purpose=PURPOSE, user=user)
    texts = []
    for text in map(_clean_text, answer.contexts):
        if 3 <= len(text) <= 300 and text.lower() not in {t.lower() for t in texts}:
            texts.append(text)
    deliberation = scenario.deliberation
    existing = list(MoralContext.objects.filter(deliberation=deliberation))
    earlier = list(
        ContextProposal.objects.filter(deliberation=deliberation).values_list("text", flat=True)
    )
    known_texts = [c.text for c in existing] + earlier
    known_lower = {t.lower() for t in known_texts}
    texts = [t for t in texts if t.lower() not in known_lower]
    stored = []
    if texts:
        vectors = normalised(
            np.asarray(llm.embed(known_texts + texts, purpose=PURPOSE_EMBED, user=user))
        )
        known, fresh = vectors[: len(known_texts)], vectors[len(known_texts) :]
        kept: list[int] = []
        for index, text in enumerate(texts):
            against = np.concatenate([known, fresh[kept]]) if kept else known
            similarities = against @ fresh[index] if len(against) else np.array([])
            if len(similarities) and similarities.max() >= DUPLICATE_SIMILARITY:
                continue
            kept.append(index)
            closest, similarity = None, None
            if existing:
                scores = known[: len(existing)] @ fresh[index]
                closest, similarity = existing[int(scores.argmax())], float(scores.max())
            proposal, created = ContextProposal.objects.get_or_create(
                deliberation=deliberation,
                text=text,
                defaults={
                    "scenario": scenario,
                    "prompt_version": CONTEXTS_PROMPT_VERSION,
                    "similar_to": closest,
                    "similarity": similarity,
                },
            )
            if created:
                stored.append(proposal.pk)
    return {
        "proposed": len(answer.contexts),
        "stored": len(stored),
        "dropped_as_duplicates": len(answer.contexts) - len(stored),
        "prompt_version": CONTEXTS_PROMPT_VERSION,
    }


def contexts_propose_start(*, scenario: Scenario, created_by: User, token: str = "") -> Job:
    """Start a job proposing contexts for ``scenario`` (the same ``token`` starts it once)."""
    return job_start(
        kind=CONTEXTS_JOB,
        params={"scenario": scenario.pk},
        created_by=created_by,
        idempotency_key=job_key("contexts", scenario.pk, token=token),
    )


@transaction.atomic
def context_proposal_decide(
    *, proposal: ContextProposal, researcher: User, approve: bool
) -> ContextProposal:
    """Approve ``proposal`` (making it a context of its scenario) or reject it.

    Deciding again the same way changes nothing; a decided proposal cannot be reversed here.
    """
    proposal = ContextProposal.objects.select_for_update().get(pk=proposal.pk)
    wanted = ContextProposal.Status.APPROVED if approve else ContextProposal.Status.REJECTED
    if proposal.status == wanted:
        return proposal
    if proposal.status != ContextProposal.Status.PENDING:
        raise ValidationError(
            {"status": f"This proposal was already {proposal.get_status_display().lower()}."}
        )
    if approve:
        context, created = MoralContext.objects.get_or_create(
            deliberation=proposal.deliberation, text=proposal.text
        )
        if created:
            context.full_clean()
        if proposal.scenario_id:
            context.scenarios.add(proposal.scenario)
        proposal.context = context
    proposal.status = wanted
    proposal.decided_by = researcher
    proposal.decided = timezone.now()
    proposal.save()
    return proposal
