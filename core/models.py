"""What belongs to no one app: users and roles, studies and their participants, jobs, LLM calls."""

import secrets
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

PSEUDONYM_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_pseudonym() -> str:
    """Return a fresh random pseudonym such as ``p-7kq2m9xa``; it reveals nothing of its owner."""
    return "p-" + "".join(secrets.choice(PSEUDONYM_ALPHABET) for _ in range(8))


class User(AbstractUser):
    class Role(models.TextChoices):
        PARTICIPANT = "participant", "Participant"
        RESEARCHER = "researcher", "Researcher"
        ADMIN = "admin", "Admin"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PARTICIPANT)
    pseudonym = models.CharField(
        max_length=32,
        unique=True,
        default=new_pseudonym,
        editable=False,
        help_text="The only name exports and other participants ever see.",
    )
    prolific_pid = models.CharField(
        "Prolific participant id", max_length=64, unique=True, null=True, blank=True
    )

    def __str__(self) -> str:
        return self.username

    def has_role(self, *roles: str) -> bool:
        """Return whether the user holds one of ``roles``; admins and superusers hold every role."""
        if not self.is_active:
            return False
        if self.is_superuser or self.role == self.Role.ADMIN:
            return True
        return self.role in roles

    @property
    def is_researcher(self) -> bool:
        return self.has_role(self.Role.RESEARCHER)


class Study(models.Model):
    """A study participants join (from Prolific or a link): an ordered list of tasks, a code."""

    slug = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Shown to participants on the study page.")
    completion_code = models.CharField(
        max_length=64,
        validators=[RegexValidator(r"^[A-Za-z0-9_-]+$", "Letters, digits, - and _ only.")],
        help_text="The code Prolific expects when a participant finishes.",
    )
    is_open = models.BooleanField(default=True, help_text="Closed studies accept no new joins.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "studies"
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.title


class StudyTask(models.Model):
    """One task of a study; ``kind`` names a task type an app registered (see core.study_tasks)."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    config = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.study.slug}: {self.title}"


class Participation(models.Model):
    """A participant's place in a study: who, from where (Prolific ids), whether they finished."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="participations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations"
    )
    prolific_study_id = models.CharField(max_length=64, blank=True)
    prolific_session_id = models.CharField(max_length=64, blank=True)
    joined = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now=True)
    completed = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "user"], name="one_participation_per_study")
        ]

    def __str__(self) -> str:
        return f"{self.user.pseudonym} in {self.study.slug}"


class TaskCompletion(models.Model):
    """A participant finished one task of a study (written once: idempotent by constraint)."""

    participation = models.ForeignKey(
        Participation, on_delete=models.CASCADE, related_name="task_completions"
    )
    task = models.ForeignKey(StudyTask, on_delete=models.CASCADE, related_name="completions")
    completed = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participation", "task"], name="one_completion_per_task"
            )
        ]

    def __str__(self) -> str:
        return f"{self.participation} finished {self.task.title}"


class Job(models.Model):
    """A long-running piece of work done by a Celery worker: its state, progress and outcome.

    Every app's long job is a row here, so one progress bar and one job page serve them all.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        RETRYING = "retrying", "Waiting to retry"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(
        max_length=64, help_text="The registered job type, e.g. core.llm_check."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    message = models.CharField(max_length=500, blank=True, help_text="What the job is doing now.")
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    study = models.ForeignKey(
        Study, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["kind", "status"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.progress_total:
            return 0
        return min(100, round(100 * self.progress_done / self.progress_total))


class LLMCall(models.Model):
    """One call through the LLM gateway: what for, who, which model, tokens, time, outcome."""

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        ERROR = "error", "Error"
        TIMEOUT = "timeout", "Timed out"
        INVALID = "invalid", "Invalid output"
        OVER_BUDGET = "over_budget", "Over budget"
        REFUSED = "refused", "Refused by the endpoint"
        PENDING = "pending", "In flight"

    purpose = models.CharField(max_length=64, help_text="e.g. elicitation.interview")
    kind = models.CharField(max_length=16, help_text="chat, stream, structured or embed")
    backend = models.CharField(max_length=16, help_text="openai or local")
    model = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="llm_calls",
    )
    study = models.ForeignKey(
        Study, null=True, blank=True, on_delete=models.SET_NULL, related_name="llm_calls"
    )
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    tokens_estimated = models.BooleanField(
        default=False,
        help_text="The endpoint sent no usage: the token counts are the gateway's estimate.",
    )
    latency_ms = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=1)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = "LLM call"
        indexes = [
            models.Index(fields=["user", "created"], name="llmcall_user_day"),
            models.Index(fields=["study", "created"], name="llmcall_study_day"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(prompt_tokens__gte=0) & Q(completion_tokens__gte=0),
                name="llmcall_tokens_non_negative",
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {self.model} {self.outcome}"


# --- Value schemes (contracts.md: data, shared by every app that labels or scores values) ---


class ValueScheme(models.Model):
    """A set of value dimensions items are labelled on (data, not code: see contracts.md)."""

    key = models.SlugField(max_length=64, unique=True, help_text="e.g. schwartz10")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]
        db_table = "annotation_valuescheme"  # made by the annotation app, which used it first

    def __str__(self) -> str:
        return self.name

    def dimension_keys(self) -> list[str]:
        """Return the keys of the scheme's dimensions in scheme order (the order of a vector)."""
        return list(self.dimensions.order_by("position", "pk").values_list("key", flat=True))


class ValueDimension(models.Model):
    """One dimension of a scheme: labels on it are -1 (violates), 0 (unrelated), +1 (upholds)."""

    scheme = models.ForeignKey(ValueScheme, on_delete=models.CASCADE, related_name="dimensions")
    key = models.SlugField(max_length=64, help_text="Lower case with underscores, e.g. power.")
    name = models.CharField(max_length=200)
    definition = models.TextField(help_text="Shown to annotators next to the dimension.")
    examples = models.JSONField(default=list, blank=True, help_text="Short examples, a list.")
    position = models.PositiveIntegerField(default=0, help_text="Place in the scheme's order.")

    class Meta:
        ordering = ["scheme", "position", "pk"]
        db_table = "annotation_valuedimension"
        constraints = [
            models.UniqueConstraint(fields=["scheme", "key"], name="one_dimension_key_per_scheme")
        ]

    def __str__(self) -> str:
        return f"{self.scheme.key}.{self.key}"
