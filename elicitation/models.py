"""Deliberations, their scenarios and moral contexts, and the values cards participants write."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Deliberation(models.Model):
    """One elicitation: scenarios to talk about, contexts to judge in, the cards that came out."""

    name = models.SlugField(max_length=64, unique=True, help_text="Used in URLs and commands.")
    title = models.CharField(max_length=200)
    welcome_text = models.TextField(blank=True, help_text="Shown to participants first.")
    is_open = models.BooleanField(
        default=True, help_text="Participants may start interviews about its scenarios."
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Scenario(models.Model):
    """A question someone might ask a chatbot, about which participants are interviewed."""

    deliberation = models.ForeignKey(
        Deliberation, on_delete=models.CASCADE, related_name="scenarios"
    )
    title = models.CharField(max_length=200, blank=True)
    question = models.TextField()
    seed_message = models.TextField(blank=True, help_text="The interview's first message.")
    source_id = models.CharField(max_length=100, blank=True, help_text="Its id in imported data.")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["deliberation", "source_id"],
                condition=~Q(source_id=""),
                name="scenario_source_id_unique",
            )
        ]

    def __str__(self) -> str:
        return self.title or self.question[:60]


class MoralContext(models.Model):
    """A situation in which one value may be wiser than another, e.g. "When in distress"."""

    deliberation = models.ForeignKey(
        Deliberation, on_delete=models.CASCADE, related_name="contexts"
    )
    text = models.CharField(max_length=300)
    scenarios = models.ManyToManyField(Scenario, blank=True, related_name="contexts")
    source_id = models.CharField(max_length=300, blank=True, help_text="Its id in imported data.")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["deliberation", "text"], name="context_text_unique")
        ]

    def __str__(self) -> str:
        return self.text


class ValuesCard(models.Model):
    """A value: what someone attends to when choosing well, as title, description and policies.

    Duplicates point at their ``canonical`` card and keep their own wording; a card whose
    ``canonical`` is null is canonical itself, and only canonical cards are the graph's values.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed, waiting for its author"
        APPROVED = "approved", "Approved by its author"

    deliberation = models.ForeignKey(Deliberation, on_delete=models.CASCADE, related_name="cards")
    title = models.CharField(max_length=200)
    description = models.TextField()
    policies = models.JSONField(default=list, blank=True, help_text="Attention policies: strings.")
    detailed_text = models.TextField(
        blank=True, help_text="The MGE study's instructionsDetailed, kept as it was."
    )
    scenario = models.ForeignKey(
        Scenario, null=True, blank=True, on_delete=models.SET_NULL, related_name="cards"
    )
    context = models.ForeignKey(
        MoralContext, null=True, blank=True, on_delete=models.SET_NULL, related_name="cards"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="values_cards",
    )
    canonical = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
        help_text="The card this one was merged into; empty when it is canonical itself.",
    )
    status = models.CharField(
        max_length=16,
        choices=Status.choices,
        default=Status.APPROVED,
        help_text="A card proposed in an interview counts once its author approves it.",
    )
    approved = models.DateTimeField(null=True, blank=True)
    # Imported data may number two tables from 1 each (the MGE dump's canonical and participant
    # cards share ids), so the table is part of the key.
    source_table = models.CharField(max_length=64, blank=True)
    source_id = models.CharField(max_length=100, blank=True, help_text="Its id in imported data.")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["deliberation", "source_table", "source_id"],
                condition=~Q(source_id=""),
                name="card_source_id_unique",
            )
        ]
        indexes = [models.Index(fields=["deliberation", "canonical"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_approved(self) -> bool:
        return self.status == self.Status.APPROVED

    @property
    def is_canonical(self) -> bool:
        return self.canonical_id is None

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if not isinstance(self.policies, list) or not all(
            isinstance(policy, str) and policy.strip() for policy in self.policies
        ):
            errors["policies"] = "Policies must be a list of non-empty strings."
        deliberation_id = self.deliberation_id
        for field in ("scenario", "context", "canonical"):
            related = getattr(self, field)
            if related is not None and related.deliberation_id != deliberation_id:
                errors[field] = f"The {field} belongs to another deliberation."
        if self.canonical is not None:
            if self.pk is not None and self.canonical.pk == self.pk:
                errors["canonical"] = "A card cannot be merged into itself."
            elif self.canonical.canonical_id is not None:
                # One level only: the graph's values are exactly the cards with no canonical.
                errors["canonical"] = "Merge into a canonical card, not into a duplicate."
        if errors:
            raise ValidationError(errors)


class Chat(models.Model):
    """A participant's interview about one scenario, and the card it ends in.

    The prompt's name and version are stored with every chat so interviews held with different
    prompts can be told apart (and graded per version).
    """

    class State(models.TextChoices):
        OPEN = "open", "Interviewing"
        CARD_PROPOSED = "card_proposed", "Card proposed"
        APPROVED = "approved", "Card approved"
        FAILED = "failed", "Card could not be written"

    participant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="elicitation_chats"
    )
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="chats")
    prompt_name = models.CharField(max_length=64)
    prompt_version = models.CharField(max_length=32)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    card = models.OneToOneField(
        ValuesCard, null=True, blank=True, on_delete=models.SET_NULL, related_name="chat"
    )
    last_error = models.TextField(
        blank=True, help_text="What went wrong on the last turn, shown to the participant."
    )
    # A key the client sends with "start", so a double click starts one chat, not two.
    client_key = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "client_key"],
                condition=~Q(client_key=""),
                name="chat_client_key_unique",
            )
        ]
        indexes = [models.Index(fields=["prompt_name", "prompt_version"])]

    def __str__(self) -> str:
        return f"Chat {self.pk} about {self.scenario}"


class Message(models.Model):
    """One turn of a chat. A participant's message is stored before the model is asked."""

    class Role(models.TextChoices):
        USER = "user", "Participant"
        ASSISTANT = "assistant", "Interviewer"

    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    text = models.TextField()
    # The participant's message this reply answers: unique, so two workers answering the same
    # message (a reload during a reply) can never store two replies.
    reply_to = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="reply"
    )
    # An id the client makes up for each message it sends, so a retried post stores it once.
    client_id = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["chat", "client_id"],
                condition=~Q(client_id=""),
                name="message_client_id_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.text[:40]}"

