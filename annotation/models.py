"""Annotation projects, the items to label, and the labels people and models gave."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from core.models import Study, ValueScheme


class Project(models.Model):
    """A labelling project: items labelled on one scheme by ``overlap`` annotators each."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    scheme = models.ForeignKey(ValueScheme, on_delete=models.PROTECT, related_name="projects")
    instructions = models.TextField(blank=True, help_text="Markdown, shown to annotators.")

    class TextFormat(models.TextChoices):
        PLAIN = "plain", "Plain text, exactly as imported"
        MARKDOWN = "markdown", "Markdown (raw HTML in it is shown as text)"

    text_format = models.CharField(
        max_length=16,
        choices=TextFormat.choices,
        default=TextFormat.PLAIN,
        help_text="How items' prompts and responses are shown to annotators.",
    )
    overlap = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1)],
        help_text="How many different annotators label each item.",
    )
    prelabel = models.BooleanField(default=False, help_text="Ask the LLM for pre-labels.")
    study = models.ForeignKey(
        Study,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="annotation_projects",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    # --- Assignment -------------------------------------------------------------------------
    lease_seconds = models.PositiveIntegerField(
        default=300,
        validators=[MinValueValidator(10)],
        help_text="How long an item handed to a worker stays theirs without a heartbeat.",
    )
    quota_per_worker = models.PositiveIntegerField(
        default=0, help_text="Items each worker labels before they are done (0: no limit)."
    )
    # --- Quality ----------------------------------------------------------------------------
    gold_rate = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of a worker's items that are gold items (when the project has some).",
    )
    attention_rate = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of a worker's items that are attention checks.",
    )
    blind_share = models.FloatField(
        default=0.2,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of labelling slots shown without the pre-label (to measure anchoring).",
    )
    min_seconds = models.FloatField(
        default=4.0, help_text="An item labelled faster than this is flagged as too fast."
    )
    straightline_streak = models.PositiveIntegerField(
        default=5,
        help_text="Flag this many items in a row with every dimension the same, or the pre-label "
        "accepted unchanged (0: never).",
    )
    min_gold_accuracy = models.FloatField(
        default=0.6,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Gold accuracy (share of dimensions right) under which a worker is flagged.",
    )
    gold_min_items = models.PositiveIntegerField(
        default=3, help_text="Gold items a worker labels before their accuracy is judged."
    )
    flags_warn = models.PositiveIntegerField(
        default=3, help_text="Quality flags after which a worker is warned (0: never)."
    )
    flags_stop = models.PositiveIntegerField(
        default=6, help_text="Quality flags after which a worker is stopped (0: never)."
    )
    screenout_code = models.CharField(
        max_length=64,
        blank=True,
        help_text="Prolific code a stopped worker is given (empty: none is shown).",
    )

    # The quality settings, as the admin groups them and the settings API exposes them.
    QUALITY_FIELDS = (
        "gold_rate",
        "attention_rate",
        "blind_share",
        "min_seconds",
        "straightline_streak",
        "min_gold_accuracy",
        "gold_min_items",
        "flags_warn",
        "flags_stop",
        "screenout_code",
    )

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.name


class Item(models.Model):
    """One (prompt, response) pair to label; ``reference_labels`` are imported gold labels."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(
        max_length=200, help_text="The id from the imported file, else a hash of the text."
    )
    prompt = models.TextField()
    response = models.TextField()
    source = models.CharField(max_length=200, blank=True, help_text="e.g. the model that answered.")
    meta = models.JSONField(default=dict, blank=True)
    reference_labels = models.JSONField(null=True, blank=True)
    is_gold = models.BooleanField(default=False)
    kind = models.CharField(
        max_length=16,
        choices=[
            ("task", "Item to label"),
            ("training", "Training item (with feedback)"),
            ("attention", "Attention check"),
        ],
        default="task",
        help_text="Training items and attention checks are shown to every worker, outside the k "
        "slots; so are gold items (is_gold).",
    )
    prelabel_error = models.TextField(
        blank=True, help_text="Why the last pre-label attempt failed; empty once one succeeds."
    )
    prelabel_attempts = models.PositiveSmallIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            # Re-importing a file relies on this to add nothing twice.
            models.UniqueConstraint(
                fields=["project", "external_id"], name="one_item_per_external_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.project.slug}/{self.external_id}"


class Annotation(models.Model):
    """One annotator's labels for every dimension of one item."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="annotations")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotations"
    )
    labels = models.JSONField(help_text="{dimension key: -1 | 0 | 1}")
    saw_prelabel = models.BooleanField(default=False)
    seconds = models.FloatField(default=0.0, help_text="Time spent on the item.")
    prelabel_kept = models.JSONField(
        null=True,
        blank=True,
        help_text="{dimension key: whether the worker kept the pre-label}; null: none shown.",
    )
    excluded = models.BooleanField(
        default=False, help_text="The worker was excluded; this annotation no longer counts."
    )
    page_version = models.CharField(
        max_length=32,
        blank=True,
        default="",
        db_default="",  # rows written by raw SQL (the API's fast paths) get "" too
        help_text="The labelling page's version the labels were given on; blank: API or "
        "before versions were recorded.",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["item", "annotator"], name="one_annotation_per_worker")
        ]

    def __str__(self) -> str:
        return f"{self.item} by {self.annotator.pseudonym}"


class Prelabel(models.Model):
    """The LLM's labels for an item, with the model and prompt version that produced them."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="prelabel")
    labels = models.JSONField(help_text="{dimension key: -1 | 0 | 1}")
    rationale = models.TextField(blank=True)
    rationales = models.JSONField(
        default=dict, blank=True, help_text="{dimension key: one sentence on why}"
    )
    labeller = models.CharField(
        max_length=100,
        default="llm",
        help_text='What made the label: "llm", or "evaluator:<artifact name>".',
    )
    model = models.CharField(max_length=200)
    prompt_version = models.CharField(max_length=64)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"pre-label of {self.item} by {self.model}"


class Adjudication(models.Model):
    """A reviewer's final labels for an item whose annotators disagreed; the export uses them."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="adjudication")
    labels = models.JSONField(help_text="{dimension key: -1 | 0 | 1}")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"adjudication of {self.item}"


class Slot(models.Model):
    """One of the k places an item has for an annotation, or a worker's turn at a check item.

    Regular slots (``position`` 0..k-1) are made per item and claimed by workers with a
    conditional update; gold, training and attention items get one slot per worker that sees
    them (``position`` null). The database keeps a worker to one slot per item.
    """

    class State(models.TextChoices):
        FREE = "free", "Free"
        LEASED = "leased", "Leased"
        DONE = "done", "Done"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="slots")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="slots")
    position = models.PositiveSmallIntegerField(null=True, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.FREE)
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="annotation_slots",
    )
    blind = models.BooleanField(default=False, help_text="Shown without the pre-label.")
    leased_at = models.DateTimeField(null=True, blank=True)
    lease_expires = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["item", "position"], name="one_slot_per_position"),
            # Worker first: "which slots does this worker hold" reads only theirs, and a claim
            # asking "does the worker hold this item" probes both columns all the same.
            models.UniqueConstraint(
                fields=["worker", "item"],
                condition=Q(worker__isnull=False),
                name="one_worker_per_item_slot",
            ),
            # One open item per worker and project: two tabs asking at once share one lease.
            models.UniqueConstraint(
                fields=["project", "worker"],
                condition=Q(state="leased"),
                name="one_lease_per_worker",
            ),
        ]
        indexes = [
            # Claims read free slots in id order: this index holds only those, so a claim
            # never walks past the slots already done. Its key is ``id + 0``, and claims order
            # by that, so no planner can take the primary key's id order instead: statistics
            # cannot tell that the done slots sit at the low ids, and that plan walks them all.
            models.Index(F("project"), F("id") + 0, condition=Q(state="free"), name="slot_queue"),
            models.Index(fields=["project", "state", "lease_expires"], name="slot_expiry"),
            models.Index(fields=["worker", "state"], name="slot_worker_state"),
        ]

    def __str__(self) -> str:
        return f"slot {self.position} of {self.item} ({self.state})"


class WorkerStatus(models.Model):
    """A worker's standing in a project: training, labelling, warned, stopped or excluded."""

    class State(models.TextChoices):
        TRAINING = "training", "In training"
        ACTIVE = "active", "Labelling"
        WARNED = "warned", "Warned"
        STOPPED = "stopped", "Stopped (screened out)"
        EXCLUDED = "excluded", "Excluded by a researcher"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="worker_statuses")
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotation_statuses"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.TRAINING)
    n_done = models.PositiveIntegerField(default=0, help_text="Regular items labelled.")
    quota = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Items this worker labels before they are done, set when they start from "
        "their study's labelling task (items per participant); empty: the project's quota.",
    )
    n_gold = models.PositiveIntegerField(default=0)
    n_attention = models.PositiveIntegerField(default=0)
    n_flags = models.PositiveIntegerField(default=0)
    same_streak = models.PositiveIntegerField(
        default=0, help_text="Items in a row with every dimension given the same label."
    )
    kept_streak = models.PositiveIntegerField(
        default=0, help_text="Items in a row with the pre-label accepted unchanged."
    )
    finished = models.DateTimeField(null=True, blank=True, help_text="Nothing was left for them.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "worker statuses"
        constraints = [
            models.UniqueConstraint(fields=["project", "worker"], name="one_status_per_worker")
        ]

    def __str__(self) -> str:
        return f"{self.worker.pseudonym} in {self.project.slug}: {self.state}"

    @property
    def may_label(self) -> bool:
        return self.state not in (self.State.STOPPED, self.State.EXCLUDED)


class QualityFlag(models.Model):
    """Something about a worker's labelling a researcher should look at."""

    class Kind(models.TextChoices):
        TOO_FAST = "too_fast", "Too fast"
        STRAIGHT_LINE = "straight_line", "Every dimension the same, item after item"
        PRELABEL_STREAK = "prelabel_streak", "Pre-label accepted unchanged, item after item"
        ATTENTION = "attention", "Failed an attention check"
        GOLD = "gold", "Gold accuracy under the threshold"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="quality_flags")
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotation_flags"
    )
    annotation = models.ForeignKey(
        Annotation, null=True, blank=True, on_delete=models.CASCADE, related_name="flags"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    detail = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "pk"]
        indexes = [models.Index(fields=["project", "worker"], name="flag_worker")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.worker.pseudonym}"
