"""Subjects: the models profiled (an endpoint and model, or a local policy folder)."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.models import User
from evaluation.models import Subject
from training.models import ModelArtifact

# Requests in flight to one subject's endpoint at most (its ``concurrency`` setting).
MAX_CONCURRENCY = 256


def subject_create(
    *,
    name: str,
    kind: str,
    endpoint: str = "",
    model: str = "",
    api_key_env: str = "",
    policy_path: str = "",
    policy: ModelArtifact | None = None,
    generation: dict | None = None,
    created_by: User | None = None,
) -> Subject:
    """Store a subject (or return the same one stored before); refuse one that cannot answer."""
    if kind == Subject.Kind.POLICY:
        if policy is not None and not policy_path:
            policy_path = policy.path
        if not policy_path or not Path(policy_path).is_dir():
            raise ValidationError({"policy_path": f"{policy_path or '(none)'} is not a folder"})
        endpoint = model = api_key_env = ""
    subject = Subject(
        name=(name or model or Path(policy_path).name or "subject").strip()[:200],
        kind=kind,
        endpoint=endpoint.strip(),
        model=model.strip(),
        api_key_env=api_key_env.strip(),
        policy_path=policy_path,
        policy=policy,
        generation=_clean_generation(generation or {}),
        created_by=created_by,
    )
    subject.full_clean(validate_constraints=False)
    existing = Subject.objects.filter(
        kind=subject.kind,
        endpoint=subject.endpoint,
        model=subject.model,
        policy_path=subject.policy_path,
        name=subject.name,
    ).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            subject.save()
    except IntegrityError:  # a twin saved it at the same moment
        return Subject.objects.get(
            kind=subject.kind,
            endpoint=subject.endpoint,
            model=subject.model,
            policy_path=subject.policy_path,
            name=subject.name,
        )
    return subject


def _clean_generation(generation: dict) -> dict:
    cleaned = {}
    temperature = generation.get("temperature", 0.0)
    if temperature is not None:
        if isinstance(temperature, bool) or not isinstance(temperature, int | float):
            raise ValidationError({"temperature": "must be a number"})
        if not 0 <= temperature <= 2:
            raise ValidationError({"temperature": "must be between 0 and 2"})
        cleaned["temperature"] = float(temperature)
    max_tokens = generation.get("max_tokens", 256)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 1 <= max_tokens:
        raise ValidationError({"max_tokens": "must be a whole number of at least 1"})
    cleaned["max_tokens"] = max_tokens
    system = generation.get("system") or ""
    if not isinstance(system, str):
        raise ValidationError({"system": "must be text"})
    if system:
        cleaned["system"] = system
    concurrency = generation.get("concurrency")
    if concurrency is not None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int):
            raise ValidationError({"concurrency": "must be a whole number"})
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise ValidationError({"concurrency": f"must be between 1 and {MAX_CONCURRENCY}"})
        cleaned["concurrency"] = concurrency
    return cleaned


def subjects_for_alignment(
    *, policy: ModelArtifact, created_by: User | None = None
) -> list[Subject]:
    """Register an aligned policy and the policy it started from as two subjects (before, after).

    The "before" subject is only made when the starting policy is a local folder.
    """
    subjects = []
    start = policy.card.get("policy") or policy.base_model
    if start and Path(start).is_dir():
        subjects.append(
            subject_create(
                name=f"{Path(start).name} (before {policy.name})",
                kind=Subject.Kind.POLICY,
                policy_path=start,
                created_by=created_by,
            )
        )
    subjects.append(
        subject_create(
            name=f"{policy.name} (after)",
            kind=Subject.Kind.POLICY,
            policy=policy,
            policy_path=policy.path,
            created_by=created_by,
        )
    )
    return subjects


def subjects_for_new_policies(*, created_by: User | None = None) -> list[Subject]:
    """Register every aligned policy in the registry that is not a subject yet as two subjects
    (before and after, ``subjects_for_alignment``); return the new ones.

    Called when subjects are listed, so an alignment run's policies appear without a step.
    A policy whose folder is gone is left out (it cannot answer).
    """
    registered = Subject.objects.filter(policy__isnull=False).values("policy")
    new = ModelArtifact.objects.filter(kind=ModelArtifact.Kind.POLICY).exclude(pk__in=registered)
    subjects: list[Subject] = []
    for policy in new.order_by("pk"):
        if Path(policy.path).is_dir():
            subjects += subjects_for_alignment(policy=policy, created_by=created_by)
    return subjects
