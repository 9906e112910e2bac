"""Value targets: typed in by a researcher, or a participant's PVQ-40 profile."""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from core.models import User
from training import pvq, targets
from training.models import Target
from training.schemes import scheme_dimensions


def pvq_items_path() -> Path:
    """Return where the PVQ-40 item texts are read from (setting ``TRAINING_PVQ40_ITEMS``)."""
    default = Path(settings.BASE_DIR).parent / "shared" / "data" / "pvq40" / "pvq40_items.csv"
    return Path(getattr(settings, "TRAINING_PVQ40_ITEMS", None) or default)


def target_create(
    *,
    owner: User,
    name: str,
    kind: str,
    vector: dict,
    scheme: str = "schwartz10",
    details: dict | None = None,
) -> Target:
    """Store a target after checking it covers every dimension with a number in [-1, 1].

    Saving under a name the owner already used replaces that target's vector.
    """
    if kind == Target.Kind.INDIVIDUAL:
        raise ValidationError({"kind": "An individual target comes from the PVQ-40 page."})
    try:
        clean = targets.validate_vector(vector, scheme_dimensions(scheme))
    except (targets.TargetError, ValueError) as error:
        raise ValidationError({"vector": str(error)}) from None
    name = name.strip()
    Target(owner=owner, name=name, kind=kind, scheme=scheme, vector=clean).full_clean(
        exclude=["owner"]
    )
    # Saving under a name the owner used before replaces it: a double click stores one target.
    target, _created = Target.objects.update_or_create(
        owner=owner,
        name=name,
        scheme=scheme,
        defaults={"kind": kind, "vector": clean, "details": details or {}},
    )
    return target


def target_from_pvq(
    *, owner: User, answers: dict, scheme: str = "schwartz10", page_version: str = ""
) -> Target:
    """Score the participant's PVQ-40 answers and store them as their own target.

    Answering again replaces their earlier profile (one individual target per person).
    ``page_version`` names the PVQ-40 page the answers were given on ("" when not from a page).
    """
    try:
        profile = pvq.score(answers, scheme_dimensions(scheme))
    except pvq.PVQError as error:
        raise ValidationError({"answers": str(error)}) from None
    details = {
        "instrument": "PVQ-40",
        "answers": {str(k): int(v) for k, v in sorted(pvq.check_answers(answers).items())},
        "raw": profile.raw,
        "centred": profile.centred,
        "mean_rating": profile.mean_rating,
        "scaling": "centred score / largest absolute centred score",
        "page_version": page_version,
    }
    target, _created = Target.objects.update_or_create(
        owner=owner,
        scheme=scheme,
        kind=Target.Kind.INDIVIDUAL,
        defaults={
            "name": f"Profile of {owner.pseudonym or owner.username}",
            "vector": profile.target,
            "details": details,
        },
    )
    return target
