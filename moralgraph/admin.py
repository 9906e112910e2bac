from django.contrib import admin

from moralgraph.models import GraphSettings, UpgradeStory, Vote


@admin.register(GraphSettings)
class GraphSettingsAdmin(admin.ModelAdmin):
    list_display = ["deliberation", "rule"]


@admin.register(UpgradeStory)
class UpgradeStoryAdmin(admin.ModelAdmin):
    list_display = ["__str__", "deliberation", "prompt_name", "prompt_version", "created"]
    list_filter = ["deliberation", "prompt_version"]
    search_fields = ["story"]
    raw_id_fields = ["from_card", "to_card", "context"]


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = ["voter", "from_card", "to_card", "context", "choice", "created"]
    list_filter = ["deliberation", "choice"]
    search_fields = ["comment"]
    raw_id_fields = ["from_card", "to_card", "context", "story", "voter"]
