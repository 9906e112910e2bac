from django.contrib import admin

from elicitation.models import Deliberation, MoralContext, Scenario, ValuesCard


@admin.register(Deliberation)
class DeliberationAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "created"]
    search_fields = ["name", "title"]


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ["__str__", "deliberation", "source_id"]
    list_filter = ["deliberation"]
    search_fields = ["question", "title"]


@admin.register(MoralContext)
class MoralContextAdmin(admin.ModelAdmin):
    list_display = ["text", "deliberation", "source_id"]
    list_filter = ["deliberation"]
    search_fields = ["text"]
    filter_horizontal = ["scenarios"]


@admin.register(ValuesCard)
class ValuesCardAdmin(admin.ModelAdmin):
    list_display = ["title", "deliberation", "canonical", "source_table", "source_id", "created"]
    list_filter = ["deliberation", "source_table"]
    search_fields = ["title", "description", "source_id"]
    raw_id_fields = ["canonical", "author", "scenario", "context"]
