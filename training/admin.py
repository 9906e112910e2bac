from django.contrib import admin

from training.models import ModelArtifact


@admin.register(ModelArtifact)
class ModelArtifactAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "scheme", "base_model", "dataset_hash", "created"]
    list_filter = ["kind", "scheme"]
    readonly_fields = ["card", "created"]
