"""Deliberations, their scenarios and moral contexts, and a study's interview task."""

from core.models import Study
from core.services import study_task_add
from elicitation.models import Deliberation, MoralContext, Scenario
from elicitation.study_tasks import KIND as STUDY_TASK_KIND


def deliberation_create(*, name: str, title: str, welcome_text: str = "") -> Deliberation:
    """Create and return a deliberation."""
    deliberation = Deliberation(name=name, title=title, welcome_text=welcome_text)
    deliberation.full_clean()
    deliberation.save()
    return deliberation


def scenario_create(
    *, deliberation: Deliberation, question: str, seed_message: str = "", title: str = ""
) -> Scenario:
    """Create and return a scenario of ``deliberation``."""
    scenario = Scenario(
        deliberation=deliberation, question=question, seed_message=seed_message, title=title
    )
    scenario.full_clean()
    scenario.save()
    return scenario


def context_create(*, deliberation: Deliberation, text: str) -> MoralContext:
    """Create and return a moral context of ``deliberation``."""
    context = MoralContext(deliberation=deliberation, text=text)
    context.full_clean()
    context.save()
    return context


def scenario_include(
    *, deliberation: Deliberation, question: str, seed_message: str = ""
) -> tuple[Scenario, bool]:
    """Return the deliberation's scenario asking ``question`` and whether it is new.

    Create it when there is none, so a double click or a retried request adds it once.
    """
    question = question.strip()
    existing = deliberation.scenarios.filter(question=question).first()
    if existing is not None:
        return existing, False
    scenario = scenario_create(
        deliberation=deliberation, question=question, seed_message=seed_message
    )
    return scenario, True


def context_include(
    *, deliberation: Deliberation, text: str, scenario: Scenario | None = None
) -> tuple[MoralContext, bool]:
    """Return the deliberation's context worded ``text`` (tied to ``scenario``) and if it is new.

    Create it when there is none, so typing the same context twice adds it once.
    """
    text = text.strip()
    context = deliberation.contexts.filter(text=text).first()
    created = context is None
    if created:
        context = context_create(deliberation=deliberation, text=text)
    if scenario is not None:
        context.scenarios.add(scenario)
    return context, created


def interview_task_include(*, study: Study, deliberation: Deliberation) -> bool:
    """Give ``study`` an interview task about ``deliberation`` unless it has one; say if added."""
    already = study.tasks.filter(kind=STUDY_TASK_KIND, config__deliberation=deliberation.name)
    if already.exists():
        return False
    study_task_add(
        study=study,
        kind=STUDY_TASK_KIND,
        title=f"Interview: {deliberation.title}"[:200],
        config={"deliberation": deliberation.name},
    )
    return True
