from django.contrib import admin

from moralgraph.models import (
    ContextSnapshot,
    FairnessAnswer,
    GraphSettings,
    StoryImpression,
    UpgradeStory,
    Vote,
)


@admin.register(GraphSettings)
class GraphSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "deliberation",
        "rule",
        "pairs_per_card",
        "pair_weight_power",
        "own_value_pairs",
    ]


@admin.register(UpgradeStory)
class UpgradeStoryAdmin(admin.ModelAdmin):
    list_display = ["__str__", "deliberation", "prompt_name", "prompt_version", "run_id", "created"]
    list_filter = ["deliberation", "prompt_version"]
    search_fields = ["story"]
    raw_id_fields = ["from_card", "to_card", "context"]


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = [
        "voter", "from_card", "to_card", "context", "choice", "yes_first", "page_version", "created"
    ]  # fmt: skip
    list_filter = ["deliberation", "choice", "page_version", "yes_first"]
    search_fields = ["comment"]
    raw_id_fields = ["from_card", "to_card", "context", "story", "voter"]


@admin.register(StoryImpression)
class StoryImpressionAdmin(admin.ModelAdmin):
    list_display = ["voter", "story", "created"]
    raw_id_fields = ["voter", "story"]


@admin.register(ContextSnapshot)
class ContextSnapshotAdmin(admin.ModelAdmin):
    list_display = [
        "context",
        "rule",
        "n_values",
        "n_edges",
        "changes",
        "computed_changes",
        "computed",
    ]
    list_filter = ["deliberation"]
    readonly_fields = ["document"]


@admin.register(FairnessAnswer)
class FairnessAnswerAdmin(admin.ModelAdmin):
    list_display = ["voter", "card", "context", "answer", "updated"]
    list_filter = ["answer"]
    raw_id_fields = ["voter", "card", "context"]
