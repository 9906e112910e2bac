"""Wiser-than stories, the votes cast on them, and each deliberation's rule for turning votes
into edges."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
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
    # Story generation: how many nearest values (by embedding) each value is paired with.
    pairs_per_card = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="Stories: each value is paired with this many nearest values.",
    )
    # Pair selection for voters (see moralgraph/selectors/voting.py): a pair with v votes is
    # drawn with weight 1 / (1 + v) ** pair_weight_power, so pairs with few votes come first.
    pair_weight_power = models.FloatField(
        default=2.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(10.0)],
        help_text="Voting: how strongly pairs with few votes are preferred (0: not).",
    )
    own_value_pairs = models.PositiveSmallIntegerField(
        default=0,
        help_text="Voting: how many pairs involving the voter's own value they may judge.",
    )
    votes_per_session = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Voting: pairs a participant judges when no study task says.",
    )
    # Set when a recompute job is queued and cleared when it starts (debounces recomputes); a
    # job queued long ago that never started (a lost message) no longer holds the next one back.
    recompute_queued = models.DateTimeField(null=True, blank=True, editable=False)

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
    run_id = models.CharField(
        max_length=64, blank=True, db_index=True, help_text="The generation run (its job id)."
    )
    was_really_about = models.TextField(
        blank=True, help_text="What the from-value was really about, in the story's words."
    )
    policy_map = models.JSONField(
        default=list,
        blank=True,
        help_text='Each from-value policy and the to-value policy it became: [{"from", "to"}].',
    )
    source_id = models.CharField(max_length=100, blank=True, help_text="Its id in imported data.")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "upgrade stories"
        constraints = [
            models.UniqueConstraint(
                fields=["deliberation", "source_id"],
                condition=~Q(source_id=""),
                name="story_source_id_unique",
            ),
            # A run writes one story per ordered pair and context, so a retried job adds none twice.
            models.UniqueConstraint(
                fields=["run_id", "context", "from_card", "to_card"],
                condition=~Q(run_id=""),
                name="story_one_per_pair_and_run",
            ),
        ]
        indexes = [models.Index(fields=["context", "from_card", "to_card"])]

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
    counted = models.BooleanField(
        default=True,
        help_text="False for a vote cast before voting was gated by someone who may not vote "
        "here (not a participant of a study with this voting task); kept, and left out of "
        "the graph unless asked for.",
    )
    page_version = models.CharField(
        max_length=32,
        blank=True,
        default="",
        db_default="",  # rows written by raw SQL (the API's fast paths) get "" too
        help_text="The voting page's version the vote was given on; blank: API, import or "
        "before versions were recorded.",
    )
    yes_first = models.BooleanField(
        null=True,
        blank=True,
        help_text="Whether Yes was shown before No; null: not known (API, import, older votes).",
    )
    created = models.DateTimeField(default=timezone.now, db_index=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["voter", "from_card", "to_card", "context"], name="one_vote_per_pair"
            )
        ]
        indexes = [
            models.Index(fields=["deliberation", "created"]),
            # The explorer's details: a pair's votes, and every vote on a value, in a context.
            models.Index(fields=["context", "from_card", "to_card"]),
            models.Index(fields=["context", "to_card"]),
        ]

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


class StoryImpression(models.Model):
    """A story shown to a voter: the only pairs a voter may vote on are those they were shown."""

    story = models.ForeignKey(UpgradeStory, on_delete=models.PROTECT, related_name="impressions")
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="story_impressions"
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["voter", "story"], name="one_impression_per_story")
        ]

    def __str__(self) -> str:
        return f"{self.voter_id} saw story {self.story_id}"


class ContextSnapshot(models.Model):
    """One context's scored graph, as the explorer draws it, computed off the request path.

    Each vote adds 1 to ``changes``; a recompute stores the ``changes`` it read as
    ``computed_changes``, so the snapshot is stale exactly while the two differ.
    """

    deliberation = models.ForeignKey(
        Deliberation, on_delete=models.CASCADE, related_name="context_snapshots"
    )
    context = models.OneToOneField(
        MoralContext, on_delete=models.CASCADE, related_name="graph_snapshot"
    )
    rule = models.CharField(max_length=16, blank=True)
    document = models.TextField(blank=True, help_text="The explorer's JSON for this context.")
    n_values = models.PositiveIntegerField(default=0)
    n_edges = models.PositiveIntegerField(default=0)
    changes = models.PositiveBigIntegerField(default=0)
    computed_changes = models.PositiveBigIntegerField(default=0)
    computed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["context_id"]

    def __str__(self) -> str:
        return f"snapshot of {self.context_id}"

    @property
    def is_stale(self) -> bool:
        return self.computed is None or self.changes != self.computed_changes


class FairnessAnswer(models.Model):
    """A participant's answer to "is this a fair position?" for their value in a context."""

    class Answer(models.TextChoices):
        FAIR = "fair", "Yes, it is fair"
        UNFAIR = "unfair", "No, it is not fair"
        UNSURE = "unsure", "Not sure"

    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="fairness_answers"
    )
    card = models.ForeignKey(ValuesCard, on_delete=models.CASCADE, related_name="+")
    context = models.ForeignKey(MoralContext, on_delete=models.CASCADE, related_name="+")
    answer = models.CharField(max_length=16, choices=Answer.choices)
    comment = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["voter", "card", "context"], name="one_fairness_answer_per_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.voter_id}: {self.card_id} in {self.context_id} {self.answer}"


class VoterAttribute(models.Model):
    """Something known about a voter, such as the MGE study's demographics ("US political
    affiliation" = "Democrat"): the explorer's group filter offers each name and value."""

    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="voter_attributes"
    )
    name = models.CharField(max_length=64)
    value = models.CharField(max_length=200)
    source = models.CharField(max_length=64, blank=True, help_text="Where it came from.")

    class Meta:
        ordering = ["name", "value", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["voter", "name"], name="one_value_per_voter_attribute")
        ]
        indexes = [models.Index(fields=["name", "value"])]

    def __str__(self) -> str:
        return f"{self.voter_id}: {self.name} = {self.value}"
