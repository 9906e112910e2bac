"""Value schemes, annotation projects, the items to label, and the labels people and models gave."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from core.models import Study


class ValueScheme(models.Model):
    """A set of value dimensions items are labelled on (data, not code: see contracts.md)."""

    key = models.SlugField(max_length=64, unique=True, help_text="e.g. schwartz10")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]

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
        constraints = [
            models.UniqueConstraint(fields=["scheme", "key"], name="one_dimension_key_per_scheme")
        ]

    def __str__(self) -> str:
        return f"{self.scheme.key}.{self.key}"


class Project(models.Model):
    """A labelling project: items labelled on one scheme by ``overlap`` annotators each."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    scheme = models.ForeignKey(ValueScheme, on_delete=models.PROTECT, related_name="projects")
    instructions = models.TextField(blank=True, help_text="Markdown, shown to annotators.")
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
