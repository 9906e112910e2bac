from django.contrib import admin

from annotation.models import (
    Annotation,
    Item,
    Prelabel,
    Project,
    QualityFlag,
    Slot,
    WorkerStatus,
)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "scheme", "overlap", "prelabel", "study", "created"]
    list_filter = ["scheme", "prelabel"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    raw_id_fields = ["created_by"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "scheme", "instructions", "study", "created_by"]}),
        ("Assignment", {"fields": ["overlap", "lease_seconds", "quota_per_worker", "prelabel"]}),
        ("Quality", {"fields": list(Project.QUALITY_FIELDS)}),
    ]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["external_id", "project", "source", "kind", "is_gold", "created"]
    list_filter = ["project", "kind", "is_gold"]
    search_fields = ["external_id", "prompt", "response"]
    list_select_related = ["project"]


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = [
        "item", "annotator", "saw_prelabel", "seconds", "excluded", "page_version", "created"
    ]  # fmt: skip
    list_filter = ["item__project", "saw_prelabel", "excluded", "page_version"]
    raw_id_fields = ["item", "annotator"]
    list_select_related = ["item__project", "annotator"]


@admin.register(Prelabel)
class PrelabelAdmin(admin.ModelAdmin):
    list_display = ["item", "model", "prompt_version", "created"]
    list_filter = ["model", "prompt_version"]
    raw_id_fields = ["item"]
    list_select_related = ["item__project"]


@admin.register(Slot)
class SlotAdmin(admin.ModelAdmin):
    list_display = ["item", "position", "state", "worker", "blind", "lease_expires"]
    list_filter = ["project", "state", "blind"]
    raw_id_fields = ["item", "worker"]
    list_select_related = ["item__project", "worker"]


@admin.register(WorkerStatus)
class WorkerStatusAdmin(admin.ModelAdmin):
    list_display = ["worker", "project", "state", "n_done", "n_gold", "n_flags", "updated"]
    list_filter = ["project", "state"]
    raw_id_fields = ["worker"]
    list_select_related = ["project", "worker"]


@admin.register(QualityFlag)
class QualityFlagAdmin(admin.ModelAdmin):
    list_display = ["worker", "project", "kind", "detail", "created"]
    list_filter = ["project", "kind"]
    raw_id_fields = ["worker", "annotation"]
    list_select_related = ["project", "worker"]
