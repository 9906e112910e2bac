from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from core import models


@admin.register(models.User)
class ValueLabUserAdmin(UserAdmin):
    list_display = ["username", "role", "pseudonym", "prolific_pid", "is_active", "date_joined"]
    list_filter = ["role", "is_active"]
    search_fields = ["username", "pseudonym", "prolific_pid", "email"]
    readonly_fields = ["pseudonym"]
    fieldsets = UserAdmin.fieldsets + (
        ("ValueLab", {"fields": ("role", "pseudonym", "prolific_pid")}),
    )
    add_fieldsets = UserAdmin.add_fieldsets + (("ValueLab", {"fields": ("role",)}),)


class StudyTaskInline(admin.TabularInline):
    model = models.StudyTask
    extra = 0


@admin.register(models.Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "completion_code", "is_open", "created"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [StudyTaskInline]


@admin.register(models.Participation)
class ParticipationAdmin(admin.ModelAdmin):
    list_display = ["user", "study", "joined", "completed"]
    list_filter = ["study"]
    raw_id_fields = ["user"]


@admin.register(models.TaskCompletion)
class TaskCompletionAdmin(admin.ModelAdmin):
    list_display = ["participation", "task", "completed"]


@admin.register(models.Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["kind", "status", "progress_done", "progress_total", "created_by", "created"]
    list_filter = ["kind", "status"]
    readonly_fields = ["id", "created", "started", "heartbeat", "finished"]


@admin.register(models.LLMCall)
class LLMCallAdmin(admin.ModelAdmin):
    list_display = [
        "purpose",
        "kind",
        "backend",
        "model",
        "outcome",
        "latency_ms",
        "prompt_tokens",
        "completion_tokens",
        "created",
    ]
    list_filter = ["purpose", "backend", "outcome", "study"]
    date_hierarchy = "created"


class ValueDimensionInline(admin.StackedInline):
    model = models.ValueDimension
    extra = 0
    fields = ["position", "key", "name", "definition", "examples"]


@admin.register(models.ValueScheme)
class ValueSchemeAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "created"]
    search_fields = ["key", "name"]
    inlines = [ValueDimensionInline]


@admin.register(models.ValueDimension)
class ValueDimensionAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "scheme", "position"]
    list_filter = ["scheme"]
    search_fields = ["key", "name", "definition"]
