"""Trained models the rest of ValueLab can use, each with the job that made it."""

from django.db import models


class ModelArtifact(models.Model):
    """A model on disk (weights, tokenizer, model card), registered once fully written."""

    class Kind(models.TextChoices):
        EVALUATOR = "evaluator", "Value evaluator"
        POLICY = "policy", "Aligned policy"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=200)
    path = models.CharField(max_length=500, unique=True)
    scheme = models.CharField(max_length=64, blank=True)
    base_model = models.CharField(max_length=500)
    dataset_hash = models.CharField(max_length=80, blank=True)
    card = models.JSONField(default=dict, help_text="The model card: config, data, metrics.")
    job = models.ForeignKey(
        "core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="artifacts"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}"
