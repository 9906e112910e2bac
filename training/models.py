"""Trained models the rest of ValueLab can use, each with the job that made it."""

from django.conf import settings
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


class Target(models.Model):
    """A target value vector a policy is aligned to: {dimension key: number in [-1, 1]}."""

    class Kind(models.TextChoices):
        PRESET = "preset", "Preset"
        SLIDER = "slider", "Set on sliders"
        GROUP = "group", "Group or country profile"
        INDIVIDUAL = "individual", "Individual (PVQ-40)"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    scheme = models.CharField(max_length=64, default="schwartz10")
    vector = models.JSONField(help_text="{dimension key: number in [-1, 1]}, every dimension.")
    details = models.JSONField(
        default=dict, blank=True, help_text="How it was made: PVQ answers and scores, the upload."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="value_targets"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated"]
        constraints = [
            # A participant's own profile is one row, answered again → updated, never doubled.
            models.UniqueConstraint(
                fields=["owner", "scheme"],
                condition=models.Q(kind="individual"),
                name="one_individual_target_per_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class RunLog(models.Model):
    """Live metrics and log lines of a training job, written as it runs (one writer: the job)."""

    job = models.OneToOneField("core.Job", on_delete=models.CASCADE, related_name="run_log")
    metrics = models.JSONField(default=list, blank=True, help_text="[{step, reward, …}, …]")
    lines = models.JSONField(default=list, blank=True, help_text="Log lines, oldest first.")
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"log of {self.job_id}"
