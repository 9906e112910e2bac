"""Pages of training: targets (sliders, presets, uploads, the PVQ-40), models, alignment."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from core.models import StudyTask
from core.roles import ADMIN, PARTICIPANT, RESEARCHER, role_required
from core.selectors import participation_for_user
from core.services import task_complete
from training import pvq, targets
from training.models import Target
from training.schemes import scheme_dimensions
from training.selectors import individual_target, targets_for_user
from training.services import pvq_items_path, target_create, target_from_pvq

SCHEME = "schwartz10"


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


# --- Targets --------------------------------------------------------------------------------------


@role_required(RESEARCHER)
@require_http_methods(["GET", "POST"])
def target_list(request: HttpRequest) -> HttpResponse:
    """Researchers: every target, and three ways to make one (sliders, a preset, an upload)."""
    dimensions = scheme_dimensions(SCHEME)
    errors: dict[str, str] = {}
    sliders = {key: 0.0 for key in dimensions}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "sliders":
                sliders = {key: _number(request.POST.get(key)) for key in dimensions}
                target = target_create(
                    owner=request.user,
                    name=request.POST.get("name", ""),
                    kind=Target.Kind.SLIDER,
                    vector=sliders,
                )
            elif action == "preset":
                preset = targets.PRESETS.get(request.POST.get("preset", ""))
                if preset is None:
                    raise ValidationError({"preset": "Choose one of the presets."})
                target = target_create(
                    owner=request.user,
                    name=preset.name,
                    kind=Target.Kind.PRESET,
                    vector=preset.vector(dimensions),
                    details={"preset": preset.key},
                )
            elif action == "upload":
                target = _target_from_upload(request, dimensions)
            else:
                raise ValidationError({"action": "Unknown action."})
        except ValidationError as error:
            errors[action or "form"] = _error_text(error)
        else:
            messages.success(request, f"Saved the target “{target.name}”.")
            return redirect("training:target", target_id=target.pk)
    context = {
        "targets": targets_for_user(user=request.user),
        "dimensions": dimensions,
        "slider_rows": [(key, sliders.get(key, 0.0)) for key in dimensions],
        "presets": [
            {"preset": preset, "vector": preset.vector(dimensions)}
            for preset in targets.PRESETS.values()
        ],
        "presets_json": {key: p.vector(dimensions) for key, p in targets.PRESETS.items()},
        "errors": errors,
    }
    return render(request, "training/targets.html", context, status=400 if errors else 200)


def _number(raw: str | None) -> float | str:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return raw or ""


def _target_from_upload(request: HttpRequest, dimensions: list[str]) -> Target:
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationError({"file": "Choose a JSON file."})
    if upload.size > 100_000:
        raise ValidationError({"file": "The file is larger than 100 kB; a profile is small."})
    try:
        name, vector = targets.parse_upload(upload.read(), dimensions)
    except targets.TargetError as error:
        raise ValidationError({"file": f"{upload.name}: {error}"}) from None
    name = request.POST.get("name", "").strip() or name or upload.name.rsplit(".", 1)[0]
    return target_create(
        owner=request.user,
        name=name,
        kind=Target.Kind.GROUP,
        vector=vector,
        details={"file": upload.name},
    )


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
            "labels": dimensions,
            "series": [{"label": target.name, "values": [target.vector[k] for k in dimensions]}],
        },
    }


# --- The PVQ-40, for participants ---------------------------------------------------------------


def _task_for_user(request: HttpRequest) -> tuple | None:
    """Return (participation, task) when the page was opened as a study's PVQ-40 task."""
    task_id = request.GET.get("task") or request.POST.get("task")
    if not task_id or not str(task_id).isdigit():
        return None
    task = StudyTask.objects.filter(pk=task_id, kind=PVQ_TASK).select_related("study").first()
    participation = task and participation_for_user(study=task.study, user=request.user)
    if participation is None:
        raise Http404("This task is not part of a study you joined.")
    return participation, task


PVQ_TASK = "training.pvq40"


@role_required(PARTICIPANT)
@require_http_methods(["GET", "POST"])
def pvq_page(request: HttpRequest) -> HttpResponse:
    """Participants: answer the 40 PVQ items; their centred scores become their own target."""
    study_task = _task_for_user(request)
    try:
        items = pvq.load_items(pvq_items_path())
    except (OSError, pvq.PVQError):
        return render(request, "training/pvq_missing.html", status=503)
    answers: dict[int, str] = {}
    error = ""
    if request.method == "POST":
        answers = {
            number: request.POST.get(f"item-{number}", "") for number in range(1, pvq.N_ITEMS + 1)
        }
        try:
            target = target_from_pvq(owner=request.user, answers=answers)
        except ValidationError as problem:
            error = _error_text(problem)
        else:
            if study_task:
                task_complete(participation=study_task[0], task=study_task[1])
            messages.success(request, "Thank you. This is your value profile.")
            return redirect("training:target", target_id=target.pk)
    context = {
        "items": [{"item": item, "answer": str(answers.get(item.number, ""))} for item in items],
        "scale": list(pvq.SCALE_LABELS.items()),
        "error": error,
        "existing": individual_target(user=request.user),
        "task": study_task[1] if study_task else None,
    }
    return render(request, "training/pvq.html", context, status=400 if error else 200)
