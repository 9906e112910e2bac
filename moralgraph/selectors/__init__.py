"""Reads of the moral graph, by concern; every name is importable from ``moralgraph.selectors``.

- ``graphs``: deliberations, their counted votes and the graph built from them.
- ``preferences``: the one-way edges a model may be trained on, as export lines.
- ``explorer``: the explorer's documents and details, and where a voter's values ended up.
- ``voting``: what a voter is shown next, how much is left, and whether their vote would count.
"""

from moralgraph.selectors.explorer import (
    ATTRIBUTE_GROUP,
    explorer_document,
    pair_detail,
    parse_group,
    positions_for_voter,
    value_detail,
    voter_groups,
)
from moralgraph.selectors.graphs import (
    deliberation_named,
    deliberations_with_counts,
    graph_for_deliberation,
    min_votes,
    rule_for,
    vote_tuples,
    votes_counted,
)
from moralgraph.selectors.preferences import (
    preference_export,
    preference_lines,
    preference_questions,
    preferences_for_deliberation,
)
from moralgraph.selectors.voting import (
    PAIRS_SPELLED_OUT,
    REFUSALS,
    graph_settings,
    own_value_ids,
    pair_filter,
    pair_vote_counts,
    pairs_left_for_voter,
    stories_count,
    story_for_vote,
    story_next_for_voter,
    story_pending_for_voter,
    vote_page_notice,
    vote_refusal,
    votes_by_voter,
)

__all__ = [
    "deliberation_named",
    "preference_questions",
    "ATTRIBUTE_GROUP",
    "deliberations_with_counts",
    "rule_for",
    "min_votes",
    "votes_counted",
    "vote_tuples",
    "graph_for_deliberation",
    "preferences_for_deliberation",
    "preference_lines",
    "preference_export",
    "voter_groups",
    "parse_group",
    "explorer_document",
    "value_detail",
    "pair_detail",
    "positions_for_voter",
    "graph_settings",
    "own_value_ids",
    "story_pending_for_voter",
    "story_next_for_voter",
    "pairs_left_for_voter",
    "PAIRS_SPELLED_OUT",
    "pair_vote_counts",
    "votes_by_voter",
    "stories_count",
    "pair_filter",
    "vote_refusal",
    "REFUSALS",
    "vote_page_notice",
    "story_for_vote",
    "story_for_vote",
]
