"""De-duplication of values cards: embed, cluster, let the LLM confirm, point duplicates home.

A run embeds the cards whose wording changed since they were last embedded, then clusters the
cards it has not looked at yet ("new": canonical, without duplicates, wording not yet checked)
with the clusters already settled, by average-linkage cosine similarity
(``elicitation.clustering.agglomerate``). Settled clusters never merge with one another
automatically: that is a researcher's call. Every merge the similarity proposes is put to the
LLM first (``SAME_VALUE_PROMPT``); a "no" keeps the two apart and is recorded too. Duplicates
point at their canonical card (``ValuesCard.canonical``) and keep their own wording.

Runs are incremental and idempotent: a second run with nothing new does nothing. Researchers
merge and split by hand with a reason (``card_merge_by_researcher``, ``card_split``); every
decision, by the LLM or a person, is a ``DedupDecision``.

The package by concern, every name importable from ``elicitation.dedup``: ``same_value`` (the
LLM's confirmation), ``embeddings``, ``runs`` (the run, its start and the schedule),
``decisions`` (researchers' merges and splits) and ``clusters`` (reads).
"""

from elicitation.dedup.clusters import (
    Cluster,
    clusters_for_deliberation,
    dedup_decisions,
)
from elicitation.dedup.decisions import (
    card_merge_by_researcher,
    card_split,
)
from elicitation.dedup.embeddings import (
    EMBED_BATCH,
    PURPOSE_EMBED,
    card_text,
    card_text_hash,
    cards_embed,
    embedding_vector,
)
from elicitation.dedup.runs import (
    DEDUP_JOB,
    DEFAULT_THRESHOLD,
    SCHEDULE_BUCKET_SECONDS,
    dedup_run,
    dedup_schedule,
    dedup_start,
    dedup_threshold,
    deliberations_needing_dedup,
)
from elicitation.dedup.same_value import (
    PURPOSE_CONFIRM,
    SAME_VALUE_PROMPT,
    SAME_VALUE_PROMPT_VERSION,
    Confirm,
    SameValue,
    always_same,
    cards_same_value,
)

__all__ = [
    "PURPOSE_CONFIRM",
    "SAME_VALUE_PROMPT_VERSION",
    "SAME_VALUE_PROMPT",
    "SameValue",
    "Confirm",
    "cards_same_value",
    "always_same",
    "PURPOSE_EMBED",
    "EMBED_BATCH",
    "card_text",
    "card_text_hash",
    "embedding_vector",
    "cards_embed",
    "DEDUP_JOB",
    "DEFAULT_THRESHOLD",
    "SCHEDULE_BUCKET_SECONDS",
    "dedup_threshold",
    "dedup_run",
    "dedup_start",
    "deliberations_needing_dedup",
    "dedup_schedule",
    "card_merge_by_researcher",
    "card_split",
    "Cluster",
    "clusters_for_deliberation",
    "dedup_decisions",
]
