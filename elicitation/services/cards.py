"""Values cards written by hand: a researcher's, a participant's own wording; approval; merges.

Every write of a chat's card holds the chat's row lock (``chat_locked``) and goes through
``card_store``, which counts the card's revisions.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.errors import ValueLabError
from core.models import User
from elicitation import card_rules
from elicitation.models import Chat, Deliberation, Message, MoralContext, Scenario, ValuesCard
from elicitation.selectors import card_incomplete


def card_create(
    *,
    deliberation: Deliberation,
    title: str,
    description: str,
    policies: list[str],
    author: User | None = None,
    scenario: Scenario | None = None,
    context: MoralContext | None = None,
    detailed_text: str = "",
) -> ValuesCard:
    """Create and return a canonical values card."""
    card = ValuesCard(
        deliberation=deliberation,
        title=title,
        description=description,
        policies=policies,
        author=author,
        scenario=scenario,
        context=context,
        detailed_text=detailed_text,
    )
    card.full_clean()
    card.save()
    return card


@transaction.atomic
def card_merge(*, card: ValuesCard, into: ValuesCard) -> ValuesCard:
    """Point ``card`` (and the cards merged into it) at canonical ``into``; keep their wording."""
    if card.pk == into.pk:
        raise ValidationError({"canonical": "A card cannot be merged into itself."})
    card.canonical = into
    card.full_clean()
    # Cards merged into ``card`` follow it, so no chain of canonicals ever forms.
    ValuesCard.objects.filter(canonical=card).update(canonical=into)
    card.save(update_fields=["canonical"])
    return card


class CardChanged(ValueLabError):
    """The card was stored again (another tab, the interviewer's revision) after the revision an
    edit was made on: the edit is not stored, so it does not silently undo that change."""

    status_code = 409


def card_edit(
    *,
    chat: Chat,
    title: str,
    description: str,
    policies: list[str],
    revision: int | None = None,
) -> ValuesCard:
    """Store the participant's own wording as the chat's proposed card; raise per-field errors.

    Replaces a proposed card's wording, or creates the card when none could be written (the
    model failed, or the participant would rather write it themselves). Only the card's shape
    is refused; wording that breaks a style rule is kept and shown back as a hint.

    ``revision`` is the card's revision the edit was made on (0: no card yet). When given and
    the card has been stored since, raise ``CardChanged`` (409, on ``revision``) and store
    nothing; without it the edit replaces whatever is there (older clients).
    """
    policies = [policy for policy in (p.strip() for p in policies) if policy]
    errors = card_rules.draft_errors(title=title, description=description, policies=policies)
    if errors:
        raise ValidationError(errors)
    draft = card_rules.ValuesCardShape(title=title, description=description, policies=policies)
    with transaction.atomic():
        chat = chat_locked(chat)
        if chat.state == Chat.State.APPROVED:
            raise ValidationError(
                {"card": "This card is approved, so it can no longer be changed."}
            )
        if chat.card is None and not chat.messages.filter(role=Message.Role.USER).exists():
            raise ValidationError({"card": "Tell the interviewer what you think first."})
        current = chat.card.revision if chat.card is not None else 0
        if revision is not None and revision != current:
            raise CardChanged(
                "Your changes were not stored: the card was changed (in another tab or window, "
                f"or by the interviewer) after you opened it — you edited revision {revision}, "
                f"it is now at revision {current}.",
                field="revision",
            )
        card = card_store(chat=chat, **draft.model_dump())
        card_propose(chat=chat, card=card)
    return card


def card_approve(*, chat: Chat) -> ValuesCard:
    """Approve the chat's proposed card (approving twice is harmless) and finish the chat."""
    with transaction.atomic():
        chat = Chat.objects.select_for_update(of=("self",)).select_related("card").get(pk=chat.pk)
        if chat.state == Chat.State.APPROVED and chat.card is not None:
            return chat.card
        if chat.state != Chat.State.CARD_PROPOSED or chat.card is None:
            raise ValidationError({"card": "There is no card to approve yet."})
        card = chat.card
        if problems := card_incomplete(card=card):
            raise ValidationError(
                {"card": "Complete the card before approving it: " + " ".join(problems.values())}
            )
        card.status = ValuesCard.Status.APPROVED
        card.approved = timezone.now()
        card.save(update_fields=["status", "approved"])
        chat.state = Chat.State.APPROVED
        chat.last_error = ""
        chat.save(update_fields=["state", "last_error", "updated"])
    return card


def chat_locked(chat: Chat) -> Chat:
    """Return ``chat`` read again with its row locked (inside the caller's transaction), with its
    card and scenario: every write of the chat's card holds this lock."""
    return (
        Chat.objects.select_for_update(of=("self",))
        .select_related("card", "scenario")
        .get(pk=chat.pk)
    )


def card_store(*, chat: Chat, title: str, description: str, policies: list[str]) -> ValuesCard:
    card = chat.card or ValuesCard(
        deliberation_id=chat.scenario.deliberation_id,
        scenario=chat.scenario,
        author_id=chat.participant_id,
        status=ValuesCard.Status.PROPOSED,
    )
    card.title, card.description, card.policies = title, description, policies
    card.full_clean()
    if card.pk is None:
        card.revision = 1
        card.save()
        return card
    card.revision = F("revision") + 1  # every caller holds the chat's row lock
    card.save()
    card.refresh_from_db(fields=["revision"])
    return card


def card_propose(*, chat: Chat, card: ValuesCard) -> None:
    """Make ``card`` the chat's proposed card and clear its error, unless it already is."""
    if chat.state != Chat.State.CARD_PROPOSED or chat.card_id != card.pk:
        chat.card = card
        chat.state = Chat.State.CARD_PROPOSED
        chat.last_error = ""
        chat.save(update_fields=["card", "state", "last_error", "updated"])
