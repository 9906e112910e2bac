"""Wiser-than stories, the votes cast on them, and each deliberation's rule for turning votes
into edges."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from elicitation.models import Deliberation, MoralContext, ValuesCard


class Rule(models.TextChoices):
    MAJORITY = "majority", "Majority of wiser vs not wiser"
    DFT_2023 = "dft-2023", "The published MGE study's rule (2023)"


class GraphSettings(models.Model):
    """How one deliberation's votes become edges; shown beside the graph."""

    deliberation = models.OneToOneField(
        Deliberation, on_delete=models.CASCADE, related_name="graph_settings"
    )
    rule = models.CharField(max_length=16, choices=Rule.choices, default=Rule.MAJORITY)

    class Meta:
        verbose_name_plural = "graph settings"

    def __str__(self) -> str:
        return f"{self.deliberation.name}: {self.rule}"


def _check_pair(
    instance: models.Model, deliberation_id: int | None, errors: dict[str, str]
) -> None:
    """Add to ``errors`` what is wrong with ``instance``'s from/to cards and context."""
    from_card, to_card, context = instance.from_card, instance.to_card, instance.context
    if from_card.pk == to_card.pk:
        errors["to_card"] = "A value cannot be wiser than itself."
    for field, obj in (("from_card", from_card), ("to_card", to_card), ("context", context)):
        if obj.deliberation_id != deliberation_id:
            errors[field] = f"The {field.replace('_', ' ')} belongs to another deliberation."
    for field, card in (("from_card", from_card), ("to_card", to_card)):
        if card.canonical_id is not None:
            errors.setdefault(field, "Only canonical cards are values of the graph.")


class UpgradeStory(models.Model):
    """A first-person story of someone who moved from one value to a wiser one, in a context.

    Every story ever shown is kept (votes say which one their voter read); none is deleted.
    """

    deliberation = models.ForeignKey(
        Deliberation, on_delete=models.CASCADE, related_name="upgrade_stories"
    )
    context = models.ForeignKey(MoralContext, on_delete=models.PROTECT, related_name="stories")
    from_card = models.ForeignKey(ValuesCard, on_delete=models.PROTECT, related_name="+")
    to_card = models.ForeignKey(ValuesCard, on_delete=models.PROTECT, related_name="+")
    story = models.TextField()
    prompt_name = models.CharField(max_length=100, blank=True)
    prompt_version = models.CharField(max_length=32, blank=True)
    source_id = models.CharField(max_length=100, blank=True, help_text="Its id in imported data.")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["deliberation", "source_id"],
                condition=~Q(source_id=""),
                name="story_source_id_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.from_card_id} → {self.to_card_id} in {self.context_id}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.from_card_id and self.to_card_id and self.context_id:
            _check_pair(self, self.deliberation_id, errors)
        if errors:
            raise ValidationError(errors)


class Vote(models.Model):
    """One participant's answer to "did this person become wiser?" for a pair in a context.

    At most one per voter, pair and context: voting again changes the answer.
    """

    class Choice(models.TextChoices):
        WISER = "wiser", "Yes"
        NOT_WISER = "not_wiser", "No"
        UNSURE = "unsure", "Not sure"

    deliberation = models.ForeignKey(Deliberation, on_delete=models.CASCADE, related_name="votes")
    context = models.ForeignKey(MoralContext, on_delete=models.PROTECT, related_name="votes")
    from_card = models.ForeignKey(ValuesCard, on_delete=models.PROTECT, related_name="+")
    to_card = models.ForeignKey(ValuesCard, on_delete=models.PROTECT, related_name="+")
    story = models.ForeignKey(
        UpgradeStory,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="votes",
        help_text="The story the voter read.",
    )
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="moral_graph_votes"
    )
    choice = models.CharField(max_length=16, choices=Choice.choices)
    comment = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["voter", "from_card", "to_card", "context"], name="one_vote_per_pair"
            )
        ]
        indexes = [models.Index(fields=["deliberation", "created"])]

    def __str__(self) -> str:
        return f"{self.voter_id}: {self.from_card_id} → {self.to_card_id} {self.choice}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.from_card_id and self.to_card_id and self.context_id:
            _check_pair(self, self.deliberation_id, errors)
        if self.story_id and (
            self.story.from_card_id,
            self.story.to_card_id,
            self.story.context_id,
        ) != (self.from_card_id, self.to_card_id, self.context_id):
            errors["story"] = "The story is about another pair or context."
        if errors:
            raise ValidationError(errors)
