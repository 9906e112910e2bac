"""Pages of training for participants too: a target's page, and the PVQ-40 that makes one.

Researchers' pages (targets, models, runs, alignment, scoring, DPO): ``researcher_views``."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from core.models import StudyTask
from core.roles import ADMIN, PARTICIPANT, RESEARCHER, role_required, user_has_role
from core.selectors import participation_for_user, task_out_of_order
from core.services import task_complete
from training import pvq
from training.models import Target
from training.schemes import scheme_dimensions
from training.selectors import individual_target, targets_for_user
from training.services import (
    error_text,
    pvq_items_path,
    target_from_pvq,
)
from training.study_tasks import KIND as PVQ_TASK

# --- Targets --------------------------------------------------------------------------------------


def _get_target_for_user(request: HttpRequest, target_id: int) -> Target:
    return get_object_or_404(targets_for_user(user=request.user), pk=target_id)


@role_required(PARTICIPANT, RESEARCHER, ADMIN)
@require_GET
def target_detail(request: HttpRequest, target_id: int) -> HttpResponse:
    """Researchers, and a participant for their own profile: the target as a chart."""
    target = _get_target_for_user(request, target_id)
    return render(request, "training/target.html", _target_context(target))


def _target_context(target: Target) -> dict:
    dimensions = scheme_dimensions(target.scheme)
    return {
        "target": target,
        "rows": [
            {
                "key": key,
                "value": target.vector[key],
                "centred": target.details.get("centred", {}).get(key),
                "raw": target.details.get("raw", {}).get(key),
            }
            for key in dimensions
        ],
        "chart": {
            "type": "hbar",
            "labels": dimensions,
            "series": [{"label": target.name, "values": [target.vector[k] for k in dimensions]}],
            "min": -1,
            "max": 1,
        },
    }


# --- The PVQ-40, for participants ---------------------------------------------------------------


def _task_for_user(request: HttpRequest) -> tuple | None:
    """Return (participation, task) when the page was opened as a study's PVQ-40 task
    (participation None: a researcher previewing the task)."""
    task_id = request.GET.get("task") or request.POST.get("task")
    if not task_id or not str(task_id).isdigit():
        return None
    task = StudyTask.objects.filter(pk=task_id, kind=PVQ_TASK).select_related("study").first()
    if task is not None and _is_preview(request):
        return None, task
    participation = task and participation_for_user(study=task.study, user=request.user)
    if participation is None:
        raise Http404("This task is not part of a study you joined.")
    return participation, task


def _is_preview(request: HttpRequest) -> bool:
    """Whether a researcher previews the page: answers are checked and never stored."""
    return not user_has_role(request.user, PARTICIPANT)


@role_required(PARTICIPANT, RESEARCHER)
@require_http_methods(["GET", "POST"])
def pvq_page(request: HttpRequest) -> HttpResponse:
    """Participants: answer the 40 PVQ items; their centred scores become their own target.
    Researchers: the same page as a preview; their answers are checked and not stored."""
    preview = _is_preview(request)
    study_task = _task_for_user(request)
    if (
        study_task
        and not preview
        and (detour := task_out_of_order(user=request.user, kind=PVQ_TASK, target=study_task[1].pk))
    ):
        return redirect(detour)  # tasks are taken in order
    try:
        items = pvq.load_items(pvq_items_path())
    except (OSError, pvq.PVQError):
        return render(request, "training/pvq_missing.html", status=503)
    answers: dict[int, str] = {}
    error = notice = ""
    if request.method == "POST":
        answers = {
            number: request.POST.get(f"item-{number}", "") for number in range(1, pvq.N_ITEMS + 1)
        }
        if preview:
            error, notice = _pvq_preview_check(answers)
        else:
            try:
                target = target_from_pvq(
                    owner=request.user,
                    answers=answers,
                    page_version=pvq.posted_page_version(request.POST.get("page_version")),
                )
            except ValidationError as problem:
                error = error_text(problem)
            else:
                if study_task:
                    task_complete(participation=study_task[0], task=study_task[1])
                messages.success(request, "Thank you. This is your value profile.")
                return redirect("training:target", target_id=target.pk)
    context = {
        "items": [{"item": item, "answer": str(answers.get(item.number, ""))} for item in items],
        "scale": list(pvq.SCALE_LABELS.items()),
        "page_version": pvq.PAGE_VERSION,
        "error": error,
        "existing": None if preview else individual_target(user=request.user),
        "task": study_task[1] if study_task else None,
        "preview": preview,
        "notice": notice,
    }
    return render(request, "training/pvq.html", context, status=400 if error else 200)


def _pvq_preview_check(answers: dict) -> tuple[str, str]:
    """Return (error, notice) for a researcher's preview answers: checked, never stored."""
    try:
        pvq.check_answers(answers)
    except pvq.PVQError as problem:
        return str(problem), ""
    return "", "Preview: these answers are complete; nothing was stored."
