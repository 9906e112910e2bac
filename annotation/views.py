"""The labelling page of the annotation app: a crowdworker labels, a researcher previews it.

Researchers' pages (projects, imports, workers, dashboard, review): ``researcher_views``."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotation.assignment import item_next_for_worker, items_to_label_for_worker
from annotation.label_page import PAGE_VERSION, hotkey_for, hotkeys_summary, posted_page_version
from annotation.labelling import (
    project_dimension_rows,
    slot_prelabel,
    worker_may_label,
)
from annotation.leases import NotAssigned, lease_release
from annotation.models import Item, Project, WorkerStatus
from annotation.quota import quota_reached, worker_quota, worker_status_for
from annotation.services import (
    annotation_submit,
)
from annotation.study_tasks import KIND as LABEL_TASK
from core.roles import PARTICIPANT, RESEARCHER, role_required
from core.selectors import task_out_of_order, task_study_url

# --- The labelling page (crowdworkers) -----------------------------------------------------------


def _get_project_for_worker(request: HttpRequest, project_id: int) -> Project:
    """Return the project if the signed-in user may label it, else 404 (nothing is revealed)."""
    project = get_object_or_404(Project.objects.select_related("scheme", "study"), pk=project_id)
    if not worker_may_label(project=project, user=request.user):
        raise Http404("You have not joined the study this project belongs to.")
    return project


def _dimension_rows(
    dimensions: list, prelabel, errors: dict, given: dict | None = None
) -> list[dict]:
    rows = []
    for index, dimension in enumerate(dimensions):
        suggested = None
        if prelabel is not None:
            suggested = int(prelabel.labels.get(dimension.key, 0))
        value = suggested if suggested is not None else 0
        if given and str(given.get(dimension.key, "")) in ("-1", "0", "1"):
            value = int(given[dimension.key])
        rows.append(
            {
                "index": index,
                "key": dimension.key,
                "name": dimension.name,
                "definition": dimension.definition,
                "examples": dimension.examples,
                "hotkey": hotkey_for(index),
                "value": value,
                "suggested": suggested,
                "rationale": (prelabel.rationales or {}).get(dimension.key, "") if prelabel else "",
                "error": " ".join(errors.get(f"labels.{dimension.key}", [])),
            }
        )
    return rows


def _items_for_worker(project: Project, worker, status: WorkerStatus) -> int:
    """The "of N" of a worker's progress: what they labelled plus what is left to them, capped
    by their quota ("3 of 3" when only 3 items were there for them, never "3 of 10")."""
    quota = worker_quota(project=project, status=status)
    if quota_reached(quota=quota, n_done=status.n_done):
        return quota
    if not status.may_label:
        return status.n_done
    left = items_to_label_for_worker(
        project=project, worker=worker, most=quota - status.n_done if quota else None
    )
    return status.n_done + left


def _work_context(
    request: HttpRequest,
    project: Project,
    answer=None,
    *,
    errors: dict | None = None,
    given: dict | None = None,
    notice: str = "",
    feedback: list | None = None,
) -> dict:
    if answer is None and feedback is None:
        answer = item_next_for_worker(project=project, worker=request.user)
    status = answer.status if answer else worker_status_for(project=project, worker=request.user)
    total = _items_for_worker(project, request.user, status)
    study_url = task_study_url(user=request.user, kind=LABEL_TASK, target=project.pk)
    if not study_url and project.study_id:
        study_url = reverse("core:study", args=[project.study.slug])
    context = {
        "project": project,
        "status": status,
        "notice": notice,
        "feedback": feedback,
        "quota": total,
        "percent": min(100, round(100 * status.n_done / total)) if total else 100,
        "study_url": study_url,
        "hotkeys": hotkeys_summary(len(project_dimension_rows(project=project))),
    }
    if status.state == WorkerStatus.State.STOPPED:
        code = project.screenout_code
        context["screenout"] = {
            "code": code,
            "url": settings.PROLIFIC_COMPLETION_URL.format(code=code) if code else "",
        }
        return context
    if answer is None:
        return context
    if answer.slot is not None:
        slot = answer.slot
        prelabel = slot_prelabel(slot=slot)
        item = slot.item
        rows = _dimension_rows(
            project_dimension_rows(project=project), prelabel, errors or {}, given
        )
        context.update(
            {
                "slot": slot,
                "item": item,
                "prelabel": prelabel,
                "is_training": item.kind == "training",
                "rows": rows,
                "page_version": PAGE_VERSION,
                "errors": errors or {},
                "lease_seconds": project.lease_seconds,
            }
        )
    elif answer.retry_after is not None:
        context["retry_after"] = answer.retry_after
    else:
        context["all_done"] = True
    return context


def _render_work(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    template = "annotation/annotate.html#work" if request.htmx else "annotation/annotate.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


@role_required(PARTICIPANT)
@require_GET
@never_cache  # a leased item must never come back from the browser's cache
def work(request: HttpRequest, project_id: int) -> HttpResponse:
    """Participants of the project's study: label the item leased to them (the whole page, or
    the ``work`` fragment for htmx: the next item, come back later, or all done)."""
    project = _get_project_for_worker(request, project_id)
    if detour := task_out_of_order(user=request.user, kind=LABEL_TASK, target=project.pk):
        return redirect(detour)  # tasks are taken in order
    return _render_work(request, _work_context(request, project))


@role_required(PARTICIPANT)
@require_POST
@never_cache  # a leased item must never come back from the browser's cache
def work_submit(request: HttpRequest, project_id: int, item_id: int) -> HttpResponse:
    """Participants: submit the labels of the item leased to them; answer with the next item
    (or, for a training item, feedback first). A repeated submit stores nothing new."""
    project = _get_project_for_worker(request, project_id)
    item = get_object_or_404(Item.objects.select_related("project__scheme", "prelabel"), pk=item_id)
    if item.project_id != project.pk:
        raise Http404("No such item in this project.")
    keys = project.scheme.dimension_keys()
    given = {key: request.POST[f"label-{key}"] for key in keys if f"label-{key}" in request.POST}
    try:
        result = annotation_submit(
            worker=request.user,
            item=item,
            labels=given,
            seconds=request.POST.get("seconds") or None,
            project=project,
            page_version=posted_page_version(request.POST.get("page_version")),
        )
    except ValidationError as error:
        answer = item_next_for_worker(project=project, worker=request.user)
        context = _work_context(request, project, answer, errors=error.message_dict, given=given)
        return _render_work(request, context, status=200 if request.htmx else 400)
    except (NotAssigned, PermissionDenied):
        notice = (
            "Your labels for that item were not stored: it was no longer reserved for you (it "
            "is given back after a while without activity, or when you stop in another tab)."
        )
        return _render_work(request, _work_context(request, project, notice=notice))
    if not result.created and not _same_labels(result.annotation.labels, given):
        notice = (
            "Your labels for that item were not stored: you had already submitted it (in "
            "another tab or window), and the first answer is the one kept."
        )
        return _render_work(request, _work_context(request, project, notice=notice))
    if result.outcome is not None and result.outcome.feedback is not None:
        names = {d.key: d.name for d in project_dimension_rows(project=project)}
        feedback = [
            {"name": names.get(key, key), **row} for key, row in result.outcome.feedback.items()
        ]
        return _render_work(request, _work_context(request, project, feedback=feedback))
    return _render_work(request, _work_context(request, project))


def _same_labels(stored: dict, given: dict) -> bool:
    """Whether a repeated submit says what the stored annotation says (a double click)."""
    return all(str(stored.get(key)) == str(value).strip() for key, value in given.items())


@role_required(RESEARCHER)
@require_http_methods(["GET", "POST"])
def work_preview(request: HttpRequest, project_id: int) -> HttpResponse:
    """Researchers: the labelling page as a participant sees it, on the project's first item;
    labels sent from it are read back and never stored, and nothing is leased."""
    project = get_object_or_404(Project.objects.select_related("scheme"), pk=project_id)
    keys = project.scheme.dimension_keys()
    given = {key: request.POST[f"label-{key}"] for key in keys if f"label-{key}" in request.POST}
    notice = ""
    if request.method == "POST":
        notice = "Preview: these labels were not stored; a participant would get the next item."
    # The study task's items per participant (its preview link says), else the project's.
    items = request.GET.get("items", "")
    quota = int(items) if items.isdigit() and int(items) > 0 else project.quota_per_worker
    quota = quota or Item.objects.filter(project=project, kind="task").count()
    item = Item.objects.filter(project=project, kind="task").order_by("pk").first()
    dimensions = project_dimension_rows(project=project)
    context = {
        "project": project,
        "preview": True,
        "status": {"state": WorkerStatus.State.ACTIVE, "n_done": 0},
        "notice": notice,
        "quota": quota,
        "percent": 0,
        "hotkeys": hotkeys_summary(len(dimensions)),
        "item": item,
        "rows": _dimension_rows(dimensions, None, {}, given),
        "page_version": PAGE_VERSION,
        "errors": {},
        "lease_seconds": project.lease_seconds,
        "all_done": item is None,
    }
    return _render_work(request, context)


@role_required(PARTICIPANT)
@require_POST
@never_cache  # a leased item must never come back from the browser's cache
def work_pause(request: HttpRequest, project_id: int, item_id: int) -> HttpResponse:
    """Participants: give the open item back and stop for now (idempotent)."""
    project = _get_project_for_worker(request, project_id)
    item = get_object_or_404(Item, pk=item_id, project=project)
    lease_release(item=item, worker=request.user)
    context = _work_context(request, project, feedback=[])
    context.update({"feedback": None, "paused": True})
    return _render_work(request, context)
