"""Value profiles of models: who is measured (subjects), on what (item pools), by which
evaluator (runs), and what they answered (responses, cached) and how it was scored."""

import hashlib
import json

from django.conf import settings
from django.db import models


def settings_hash(generation: dict) -> str:
    """Return a short stable hash of generation settings (key order does not matter)."""
    text = json.dumps(generation or {}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def prompt_hash(prompt: str) -> str:
    """Return the hash that keys a prompt's cached responses."""
    return hashlib.sha256(prompt.encode()).hexdigest()[:32]


class Subject(models.Model):
    """A model to measure: an OpenAI-compatible endpoint + model name, or a local policy folder.

    An empty ``endpoint`` means the LLM the gateway is configured with (OPENAI_BASE_URL, or the
    embedded model). The key is never stored: ``api_key_env`` names the environment variable
    that holds it.
    """

    class Kind(models.TextChoices):
        ENDPOINT = "endpoint", "OpenAI-compatible endpoint"
        POLICY = "policy", "Policy folder"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    endpoint = models.CharField(max_length=500, blank=True)
    model = models.CharField(max_length=200, blank=True)
    api_key_env = models.CharField(
        max_length=100, blank=True, help_text="Name of the environment variable with the key."
    )
    policy_path = models.CharField(max_length=500, blank=True)
    policy = models.ForeignKey(
        "training.ModelArtifact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="evaluation_subjects",
    )
    generation = models.JSONField(
        default=dict, blank=True, help_text="{temperature, max_tokens, system}: how it answers."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "endpoint", "model", "policy_path", "name"],
                name="one_subject_per_identity",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def settings_hash(self) -> str:
        return settings_hash(self.generation)

    @property
    def describe(self) -> str:
        if self.kind == self.Kind.POLICY:
            return f"policy {self.policy_path}"
        return f"{self.model or 'default model'} at {self.endpoint or 'the configured LLM'}"


class ItemPool(models.Model):
    """A versioned set of prompts with where they came from."""

    class Provenance(models.TextChoices):
        IMPORTED = "imported", "Imported file"
        ANNOTATION = "annotation", "Annotation project's prompts"
        GENERATED = "generated", "Evolved (generated where subjects disagree)"

    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)
    provenance = models.CharField(max_length=16, choices=Provenance.choices)
    source = models.CharField(max_length=500, blank=True, help_text="File name, project, parent.")
    content_hash = models.CharField(max_length=64, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    details = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="one_pool_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class PoolItem(models.Model):
    """One prompt of a pool; evolved items say their round, parent and disagreement in ``meta``."""

    pool = models.ForeignKey(ItemPool, on_delete=models.CASCADE, related_name="items")
    key = models.CharField(max_length=200, help_text="The id given, else a hash of the prompt.")
    prompt = models.TextField()
    prompt_hash = models.CharField(max_length=32, db_index=True)
    value = models.CharField(max_length=64, blank=True, help_text="The value it is aimed at.")
    meta = models.JSONField(default=dict, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["pool", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["pool", "key"], name="one_item_per_key")]

    def __str__(self) -> str:
        return f"{self.pool}: {self.key}"


class Run(models.Model):
    """Subject × pool × evaluator: generate a response per prompt, score it, profile it."""

    class Status(models.TextChoices):
        NEW = "new", "Not started"
        QUEUED = "queued", "Queued"
        GENERATING = "generating", "Generating responses"
        SCORING = "scoring", "Scoring"
        PAUSED = "paused", "Paused"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="runs")
    pool = models.ForeignKey(ItemPool, on_delete=models.CASCADE, related_name="runs")
    evaluator_path = models.CharField(max_length=500)
    evaluator = models.ForeignKey(
        "training.ModelArtifact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="evaluation_runs",
    )
    scheme = models.CharField(max_length=64, default="schwartz10")
    generation = models.JSONField(default=dict, blank=True, help_text="The subject's settings.")
    settings_hash = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    message = models.CharField(max_length=500, blank=True)
    max_calls = models.PositiveIntegerField(
        null=True, blank=True, help_text="Cost cap: LLM calls this run may make (empty: none)."
    )
    calls_made = models.PositiveIntegerField(default=0)
    n_items = models.PositiveIntegerField(default=0)
    n_generated = models.PositiveIntegerField(default=0)
    n_failed = models.PositiveIntegerField(default=0)
    n_scored = models.PositiveIntegerField(default=0)
    profile = models.JSONField(default=dict, blank=True, help_text="The profile, once done.")
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL)
    human_check = models.ForeignKey(
        "annotation.Project",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="evaluation_runs",
        help_text="The annotation project a sample of this run's pairs was sent to.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    ACTIVE = (Status.QUEUED, Status.GENERATING, Status.SCORING)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.subject} on {self.pool}"

    @property
    def evaluator_name(self) -> str:
        return self.evaluator.name if self.evaluator else self.evaluator_path.rsplit("/", 1)[-1]


class Response(models.Model):
    """A subject's answer to a prompt under given settings: generated once, reused by every run."""

    class Status(models.TextChoices):
        OK = "ok", "Answered"
        FAILED = "failed", "Failed"

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="responses")
    prompt_hash = models.CharField(max_length=32)
    settings_hash = models.CharField(max_length=16)
    prompt = models.TextField()
    text = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices)
    error = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    model = models.CharField(max_length=200, blank=True, help_text="As the endpoint named it.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "prompt_hash", "settings_hash"], name="one_response_per_prompt"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject}: {self.prompt[:40]}"


class ResponseScore(models.Model):
    """An evaluator's label and expected label (P(+1) − P(−1)) of a response on one value."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="scores")
    evaluator_path = models.CharField(max_length=500)
    value = models.CharField(max_length=64)
    label = models.SmallIntegerField()
    expected = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["response", "evaluator_path", "value"], name="one_score_per_value"
            )
        ]
        indexes = [models.Index(fields=["evaluator_path", "value", "label"])]

    def __str__(self) -> str:
        return f"{self.value}: {self.label}"
