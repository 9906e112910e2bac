from django.contrib import admin

from evaluation.models import ItemPool, Response, Run, Subject


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "endpoint", "model", "policy_path", "created"]
    list_filter = ["kind"]


@admin.register(ItemPool)
class ItemPoolAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "provenance", "source", "created"]
    list_filter = ["provenance"]


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["subject", "pool", "evaluator_path", "status", "n_scored", "created"]
    list_filter = ["status"]
    readonly_fields = ["profile"]


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["subject", "status", "attempts", "created"]
    list_filter = ["status"]
