from django.contrib import admin

from annotation.models import Annotation, Item, Prelabel, Project, ValueDimension, ValueScheme


class ValueDimensionInline(admin.StackedInline):
    model = ValueDimension
    extra = 0
    fields = ["position", "key", "name", "definition", "examples"]


@admin.register(ValueScheme)
class ValueSchemeAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "created"]
    search_fields = ["key", "name"]
    inlines = [ValueDimensionInline]


@admin.register(ValueDimension)
class ValueDimensionAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "scheme", "position"]
    list_filter = ["scheme"]
    search_fields = ["key", "name", "definition"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "scheme", "overlap", "prelabel", "study", "created"]
    list_filter = ["scheme", "prelabel"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    raw_id_fields = ["created_by"]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["external_id", "project", "source", "is_gold", "created"]
    list_filter = ["project", "is_gold"]
    search_fields = ["external_id", "prompt", "response"]
    list_select_related = ["project"]


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["item", "annotator", "saw_prelabel", "seconds", "created"]
    list_filter = ["item__project", "saw_prelabel"]
    raw_id_fields = ["item", "annotator"]
    list_select_related = ["item__project", "annotator"]


@admin.register(Prelabel)
class PrelabelAdmin(admin.ModelAdmin):
    list_display = ["item", "model", "prompt_version", "created"]
    list_filter = ["model", "prompt_version"]
    raw_id_fields = ["item"]
    list_select_related = ["item__project"]
