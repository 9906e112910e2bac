"""Deliberations, their scenarios and moral contexts, and the values cards participants write."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone


def unique_where_set(*, fields: list[str], name: str) -> models.UniqueConstraint:
    """Return the constraint that ``fields`` are unique together on the rows whose last field
    (an optional id: imported, or made up by a client) is set, i.e. not blank."""
    return models.UniqueConstraint(fields=fields, condition=~Q(**{fields[-1]: ""}), name=name)


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
            unique_where_set(fields=["deliberation", "source_id"], name="scenario_source_id_unique")
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
    revision = models.PositiveIntegerField(
        default=0,
        help_text="Goes up by one each time the card's wording is stored: an edit sends the "
        "revision it was made on, and one made on an older revision is refused (two tabs).",
    )
    # Imported data may number two tables from 1 each (the MGE dump's canonical and participant
    # cards share ids), so the table is part of the key.
    source_table = models.CharField(max_length=64, blank=True)
    source_id = models.CharField(max_length=100, blank=True, help_text="Its id in imported data.")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            unique_where_set(
                fields=["deliberation", "source_table", "source_id"], name="card_source_id_unique"
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
            unique_where_set(fields=["participant", "client_key"], name="chat_client_key_unique")
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
            unique_where_set(fields=["chat", "client_id"], name="message_client_id_unique")
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.text[:40]}"


# --- De-duplication, context proposals and interview grades (researcher side) ------------------


class CardEmbedding(models.Model):
    """A card's embedding, and the wording de-duplication last looked at.

    A card is embedded again only when its wording (``text_hash``), the embedding model or the
    dimension of the model's vectors changes (or the row has no recorded dimension), and
    compared with the others only while ``checked_hash`` differs from its wording: that is what
    makes de-duplication runs incremental.
    """

    card = models.OneToOneField(ValuesCard, on_delete=models.CASCADE, related_name="embedding")
    model = models.CharField(max_length=200, blank=True)
    text_hash = models.CharField(max_length=64, blank=True, help_text="Wording embedded.")
    vector = models.BinaryField(default=b"", blank=True, help_text="float32, little-endian.")
    dimensions = models.PositiveIntegerField(
        default=0, help_text="Length of the vector; 0 for rows stored before it was recorded."
    )
    checked_hash = models.CharField(
        max_length=64, blank=True, help_text="Wording de-duplication last considered."
    )
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Embedding of card {self.card_id}"


class DedupDecision(models.Model):
    """One de-duplication decision about a card: merged, split off, or judged a distinct value."""

    class Action(models.TextChoices):
        MERGE = "merge", "Merged"
        SPLIT = "split", "Split off"
        DISTINCT = "distinct", "Judged a different value"

    class Source(models.TextChoices):
        LLM = "llm", "LLM"
        RESEARCHER = "researcher", "Researcher"

    deliberation = models.ForeignKey(
        Deliberation, on_delete=models.CASCADE, related_name="dedup_decisions"
    )
    card = models.ForeignKey(ValuesCard, on_delete=models.CASCADE, related_name="dedup_decisions")
    other = models.ForeignKey(
        ValuesCard,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The canonical card it was merged into, split from or compared with.",
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    source = models.CharField(max_length=16, choices=Source.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    similarity = models.FloatField(null=True, blank=True)
    prompt_version = models.CharField(max_length=64, blank=True)
    model = models.CharField(max_length=200, blank=True)
    job = models.ForeignKey(
        "core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [models.Index(fields=["deliberation", "created"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: card {self.card_id} / {self.other_id}"


class ContextProposal(models.Model):
    """A moral context the LLM proposed for a scenario, waiting for a researcher's approval."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    deliberation = models.ForeignKey(
        Deliberation, on_delete=models.CASCADE, related_name="context_proposals"
    )
    scenario = models.ForeignKey(
        Scenario, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.CharField(max_length=300)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    prompt_version = models.CharField(max_length=64, blank=True)
    similar_to = models.ForeignKey(
        MoralContext,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The closest existing context, when the proposal resembles one.",
    )
    similarity = models.FloatField(null=True, blank=True)
    context = models.ForeignKey(
        MoralContext,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The context created when it was approved.",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["deliberation", "text"], name="context_proposal_text_unique"
            )
        ]

    def __str__(self) -> str:
        return self.text


class ChatGrade(models.Model):
    """The LLM grader's rubric for one finished chat, once per grader prompt version."""

    chat = models.ForeignKey("Chat", on_delete=models.CASCADE, related_name="grades")
    grader_version = models.CharField(max_length=64)
    personal_story = models.BooleanField(help_text="Did it get a story from the person's life?")
    led_the_witness = models.BooleanField(help_text="Did it suggest answers to the person?")
    one_question_at_a_time = models.BooleanField()
    card_clarity = models.PositiveSmallIntegerField(help_text="1-5: is the card coherent, clear?")
    notes = models.TextField(blank=True)
    model = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["chat", "grader_version"], name="one_grade_per_chat_and_grader"
            )
        ]

    def __str__(self) -> str:
        return f"Grade of chat {self.chat_id} ({self.grader_version})"
