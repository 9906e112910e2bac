"""Researcher pages of the annotation app: projects and their imports, workers, pre-labelling,
the dashboard, and the review queue.

Every view here is for researchers only; fragments check permissions exactly as their pages do.
"""

import uuid
from datetime import UTC, datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from annotation.forms import ProjectForm
from annotation.labelling import (
    worker_page_rows,
)
from annotation.models import Adjudication, Item, Project, WorkerStatus
from annotation.prelabel import prelabel_start
from annotation.quality import worker_exclude
from annotation.review import (
    adjudication_save,
    item_review,
    review_queue,
    review_queue_shown,
    review_threshold,
)
from annotation.selectors import (
    prelabel_jobs,
    prelabel_status,
    project_dashboard_cached,
    project_dimensions,
    project_item_counts,
    projects_with_counts,
)
from annotation.selectors.prelabels import ACTIVE
from annotation.services import (
    project_create,
)
from annotation.uploads import KIND as IMPORT_KIND
from annotation.uploads import import_job_start
from core.models import Job
from core.roles import RESEARCHER, role_required
from core.throttling import upload_too_large

FAILED_SHOWN = 5


def _get_project_for_user(request: HttpRequest, slug: str) -> Project:
    # Every researcher sees every project today (as on the project page).
    return get_object_or_404(Project.objects.select_related("scheme", "study"), slug=slug)


@role_required(RESEARCHER)
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def prelabel_panel(request: HttpRequest, slug: str) -> HttpResponse:
    """Researchers: the project's pre-label counts and job progress; POST starts (or retries)."""
    project = _get_project_for_user(request, slug)
    error = ""
    if request.method == "POST":
        try:
            prelabel_start(
                project=project,
                created_by=request.user,
                only_failed=request.POST.get("only_failed") == "1",
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        if not request.htmx and not error:
            return redirect("annotation:project", slug=project.slug)
    job = prelabel_jobs(project=project).first()
    failed_items = (
        Item.objects.filter(project=project, prelabel__isnull=True)
        .exclude(prelabel_error="")
        .order_by("pk")
        .values("external_id", "prelabel_error", "prelabel_attempts")[:FAILED_SHOWN]
    )
    context = {
        "project": project,
        "status": prelabel_status(project=project),
        "job": job,
        "job_active": job is not None and job.status in ACTIVE,
        "failed_items": failed_items,
        "error": error,
    }
    return render(
        request, "annotation/dashboard_prelabel.html", context, status=400 if error else 200
    )


DASHBOARD_POLL_SECONDS = 5


def dashboard_context(*, project: Project) -> dict:
    """Return the template context of the dashboard: live counts, figures and chart data."""
    figures = project_dashboard_cached(project=project)
    names = dict(project.scheme.dimensions.values_list("key", "name"))
    keys = figures["dimensions"]
    rows = [
        {
            "key": key,
            "name": names.get(key, key),
            **figures["agreement"][key],
            "llm": figures["llm_vs_humans"][key],
            "kept": figures["acceptance"]["dimensions"].get(key),
        }
        for key in keys
    ]
    charts = {
        "distribution": {
            "labels": [names.get(key, key) for key in keys],
            "series": [
                {
                    "key": str(label),
                    "label": title,
                    "values": [figures["distribution"][key][index] for key in keys],
                }
                for index, (label, title) in enumerate(
                    [(-1, "violates (-1)"), (0, "unrelated (0)"), (1, "upholds (+1)")]
                )
            ],
        },
        "map": figures["map"],
    }
    return {
        "project": project,
        "items_total": Item.objects.filter(project=project).count(),
        "figures": figures,
        "rows": rows,
        "charts": charts,
        "computed": datetime.fromtimestamp(figures["computed"], tz=UTC),
        "poll_seconds": DASHBOARD_POLL_SECONDS,
    }


@role_required(RESEARCHER)
@require_GET
@vary_on_headers("HX-Request")
def project_dashboard_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Researchers: agreement, pre-label quality, workers and plots, refreshed as labels come."""
    project = _get_project_for_user(request, slug)
    template = "annotation/dashboard.html#live" if request.htmx else "annotation/dashboard.html"
    return render(request, template, dashboard_context(project=project))


REVIEW_PAGE_SIZE = 100


@role_required(RESEARCHER)
@require_GET
def review_queue_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Researchers: the items whose annotators disagree, least agreement first."""
    project = _get_project_for_user(request, slug)
    queue = review_queue(project=project)
    entries = review_queue_shown(queue=queue, limit=REVIEW_PAGE_SIZE)
    adjudicated = (
        Adjudication.objects.filter(item__project=project)
        .select_related("item", "reviewer")
        .order_by("-updated")[:20]
    )
    context = {
        "project": project,
        "entries": entries,
        "total": len(queue),
        "threshold": review_threshold(),
        "adjudicated": adjudicated,
        "adjudicated_total": Adjudication.objects.filter(item__project=project).count(),
    }
    return render(request, "annotation/review_queue.html", context)


@role_required(RESEARCHER)
@require_http_methods(["GET", "POST"])
def review_item_page(request: HttpRequest, slug: str, item_id: int) -> HttpResponse:
    """Researchers: one item's annotations side by side, and the form for its final labels."""
    project = _get_project_for_user(request, slug)
    item = get_object_or_404(
        Item.objects.select_related("project__scheme"), pk=item_id, project=project
    )
    errors: dict[str, list[str]] = {}
    chosen: dict[str, str] = {}
    if request.method == "POST":
        keys = project.scheme.dimension_keys()
        chosen = {key: request.POST.get(f"label-{key}", "") for key in keys}
        try:
            adjudication_save(
                item=item,
                labels={key: value for key, value in chosen.items() if value != ""},
                reviewer=request.user,
                note=request.POST.get("note", ""),
            )
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, f"Final labels saved for {item.external_id}.")
            following = next(
                (e for e in review_queue(project=project) if e["item_id"] != item.pk), None
            )
            if following and request.POST.get("then") == "next":
                return redirect("annotation:review_item", slug=slug, item_id=following["item_id"])
            return redirect("annotation:review", slug=slug)
    review = item_review(item=item)
    names = dict(project.scheme.dimensions.values_list("key", "name"))
    current = review["adjudication"].labels if review["adjudication"] else review["majority"]
    prelabel = review["prelabel"]
    rows = [
        {
            "key": key,
            "name": names.get(key, key),
            "labels": [a["labels"].get(key) for a in review["annotations"]],
            "prelabel": prelabel.labels.get(key) if prelabel else None,
            "rationale": (prelabel.rationales or {}).get(key, "") if prelabel else "",
            "majority": review["majority"][key],
            "agreement": review["agreement"][key],
            "final": str(chosen.get(key) or current.get(key, 0)),
            "error": " ".join(errors.get(f"labels.{key}", [])),
        }
        for key in review["keys"]
    ]
    context = {
        "project": project,
        "item": item,
        "review": review,
        "rows": rows,
        "errors": errors,
        "note": request.POST.get("note")
        if request.method == "POST"
        else (review["adjudication"].note if review["adjudication"] else ""),
        "choices": [("-1", "−1"), ("0", "0"), ("1", "+1")],
    }
    return render(request, "annotation/review_item.html", context, status=400 if errors else 200)


# --- Projects: the list, a project and its imports; the workers page --------------------------


@role_required(RESEARCHER)
@require_http_methods(["GET", "POST"])
def project_list(request: HttpRequest) -> HttpResponse:
    """Researchers: every project with its counts, and a form to start a new one."""
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = project_create(created_by=request.user, **form.cleaned_data)
        return redirect("annotation:project", slug=project.slug)
    projects = projects_with_counts().select_related("study").order_by("name")
    status = 400 if form.is_bound else 200
    return render(
        request, "annotation/projects.html", {"projects": projects, "form": form}, status=status
    )


@role_required(RESEARCHER)
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def project_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """Researchers: a project, its dimensions, item counts, and the import form.

    A POST saves the upload and starts an import job: htmx gets the import card with the job's
    progress panel (then polls ``?import_job=<id>`` for the panel), a plain form goes to the
    job page. The panel of a finished job carries the item counts out of band, so the page's
    counts follow the import without a reload.
    """
    project = _get_project_for_user(request, slug)
    import_job, upload_error = None, ""
    if request.method == "POST":
        upload_error = upload_too_large(request)
        upload = None if upload_error else request.FILES.get("file")
        if upload_error:
            pass
        elif upload is None:
            upload_error = "Choose a JSONL or CSV file to import."
        else:
            import_job = import_job_start(
                project=project,
                upload=upload,
                skip_invalid=request.POST.get("skip_invalid") == "on",
                created_by=request.user,
                token=request.POST.get("token", "")[:64],
            )
            if not request.htmx:
                return redirect("core:job", job_id=import_job.pk)
    elif request.GET.get("import_job"):
        import_job = _get_import_job(project, request.GET["import_job"])
        if request.htmx:
            return render(
                request,
                "annotation/import_card.html#panel",
                {"project": project, "job": import_job} | _counts_oob(project, import_job),
            )
    context = {
        "project": project,
        "job": import_job,
        "token": uuid.uuid4().hex,
        "upload_error": upload_error,
    }
    status = 400 if upload_error and not request.htmx else 200
    if request.htmx and request.method == "POST":
        context |= _counts_oob(project, import_job)
        return render(request, "annotation/import_card.html", context, status=status)
    context |= {
        "dimensions": project_dimensions(project=project),
        "counts": project_item_counts(project=project),
    }
    return render(request, "annotation/project.html", context, status=status)


def _counts_oob(project: Project, job: Job | None) -> dict:
    """Return the context that makes a finished import's panel swap in fresh item counts."""
    if job is None or not job.is_finished:
        return {}
    return {"counts": project_item_counts(project=project), "counts_oob": True}


def _get_import_job(project: Project, job_id: str) -> Job:
    """Return the import job of ``project`` with this id, else 404."""
    try:
        job = Job.objects.get(pk=uuid.UUID(job_id), kind=IMPORT_KIND)
    except (ValueError, Job.DoesNotExist):
        raise Http404("No such import.")
    if job.params.get("project_id") != project.pk:
        raise Http404("No such import.")
    return job


# --- The workers page (researchers) -------------------------------------------------------------


@role_required(RESEARCHER)
@require_GET
def project_workers(request: HttpRequest, slug: str) -> HttpResponse:
    """Researchers: every worker of a project with their standing, and a button to exclude one."""
    project = _get_project_for_user(request, slug)
    rows = worker_page_rows(project=project)
    return render(request, "annotation/workers.html", {"project": project, "rows": rows})


@role_required(RESEARCHER)
@require_POST
@vary_on_headers("HX-Request")
def project_worker_exclude(request: HttpRequest, slug: str, pseudonym: str) -> HttpResponse:
    """Researchers: exclude a worker of the project (idempotent); their slots re-open.

    htmx gets the worker's row, saying what happened; a plain form goes back to the page.
    """
    project = _get_project_for_user(request, slug)
    status = get_object_or_404(
        WorkerStatus.objects.select_related("worker"), project=project, worker__pseudonym=pseudonym
    )
    # Read before the exclusion only to word the answer; the exclusion itself is idempotent.
    already = status.state == WorkerStatus.State.EXCLUDED
    reopened = worker_exclude(project=project, worker=status.worker)
    if already and not reopened:
        notice = "Already excluded: nothing changed."
    else:
        notice = f"Excluded: {reopened} slot{'s' if reopened != 1 else ''} re-opened."
    if not request.htmx:
        messages.success(request, f"{pseudonym}: {notice}")
        return redirect("annotation:workers", slug=project.slug)
    row = next(row for row in worker_page_rows(project=project) if row["worker"] == pseudonym)
    return render(
        request,
        "annotation/workers.html#row",
        {"project": project, "row": row, "notice": notice},
    )
