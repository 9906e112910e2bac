"""Researcher pages of evaluation: subjects, pools, runs, profiles, comparison, leaderboard."""

import csv
import io

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from core.jsonl import jsonl_line, text_chunks
from core.models import Job
from core.roles import RESEARCHER, role_required
from evaluation import selectors
from evaluation.forms import EvolveForm, PoolForm, ProjectPoolForm, RunForm, SubjectForm
from evaluation.human_check import human_agreement, human_check_send
from evaluation.models import Run
from evaluation.services import (
    evolve_cancel,
    evolve_start,
    pool_from_project,
    pool_import,
    run_cancel,
    run_create,
    run_start,
    run_target_alignment,
    runs_by_alignment,
    subject_create,
    subjects_for_alignment,
    subjects_for_new_policies,
)
from training.models import Target
from training.services import error_text


def _get_run(run_id: int) -> Run:
    return get_object_or_404(selectors.runs_list(), pk=run_id)


def _target_for(request: HttpRequest) -> Target | None:
    target_id = request.GET.get("target")
    if not target_id or not target_id.isdigit():
        return None
    return Target.objects.filter(pk=target_id).first()


def _alignment_or_error(run: Run, target: Target | None) -> tuple[dict | None, str]:
    if target is None or run.status != Run.Status.DONE:
        return None, ""
    try:
        return run_target_alignment(run=run, target=target), ""
    except ValidationError as error:
        return None, error_text(error)


@role_required(RESEARCHER)
@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """Researchers: subjects, item pools and runs, with a form to add each."""
    forms = {action: form_class() for action, (form_class, _) in _HOME_ACTIONS.items()}
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in _HOME_ACTIONS:
            messages.error(request, "Unknown action.")
        else:
            form_class, act = _HOME_ACTIONS[action]
            forms[action] = form = form_class(request.POST, request.FILES)
            try:
                if form.is_valid():
                    act(request, form.cleaned_data)
                    return redirect("evaluation:home")
            except ValidationError as error:
                messages.error(request, error_text(error))
    subjects_for_new_policies(created_by=request.user)
    return render(
        request,
        "evaluation/home.html",
        {
            "subjects": selectors.subjects_list(),
            "pools": selectors.pools_list(),
            "runs": selectors.runs_list()[:100],
            **{f"{action}_form": form for action, form in forms.items()},
        },
    )


def _add_subject(request: HttpRequest, data: dict) -> None:
    generation = {"temperature": data["temperature"], "max_tokens": data["max_tokens"]}
    if data.get("concurrency"):
        generation["concurrency"] = data["concurrency"]
    if data["policy"] is not None:
        subjects = subjects_for_alignment(policy=data["policy"], created_by=request.user)
        names = ", ".join(subject.name for subject in subjects)
        messages.success(request, f"Added {names}.")
        return
    subject = subject_create(
        name=data["name"],
        kind=data["kind"],
        endpoint=data["endpoint"],
        model=data["model"],
        api_key_env=data["api_key_env"],
        generation=generation,
        created_by=request.user,
    )
    messages.success(request, f"Added the subject “{subject.name}”.")


def _add_pool(request: HttpRequest, data: dict) -> None:
    upload = data["file"]
    pool, skipped = pool_import(
        name=data["name"],
        data=upload.read(),
        filename=upload.name,
        skip_invalid=data["skip_invalid"],
        created_by=request.user,
    )
    note = f" Skipped {len(skipped)} lines: {'; '.join(skipped[:5])}" if skipped else ""
    messages.success(request, f"Pool “{pool}” has {pool.items.count()} prompts.{note}")


def _add_project_pool(request: HttpRequest, data: dict) -> None:
    pool = pool_from_project(project=data["project"], name=data["name"], created_by=request.user)
    n = pool.items.count()
    messages.success(request, f"Pool “{pool}” has {n} prompt{'' if n == 1 else 's'}.")


def _start_runs(request: HttpRequest, data: dict) -> None:
    for subject in data["subjects"]:
        run = run_create(
            subject=subject,
            pool=data["pool"],
            evaluator_path=data["evaluator"].path,
            max_calls=data["max_calls"],
            created_by=request.user,
        )
        run_start(run=run, created_by=request.user)
    messages.success(request, f"Started {len(data['subjects'])} run(s).")


# The home page's forms: what each POSTed ``action`` fills in and does.
_HOME_ACTIONS = {
    "subject": (SubjectForm, _add_subject),
    "pool": (PoolForm, _add_pool),
    "project_pool": (ProjectPoolForm, _add_project_pool),
    "run": (RunForm, _start_runs),
}


@role_required(RESEARCHER)
@require_GET
@vary_on_headers("HX-Request")
def run_page(request: HttpRequest, run_id: int) -> HttpResponse:
    """Researchers: a run's progress (polled while it works) and, once done, its profile."""
    run = _get_run(run_id)
    target = _target_for(request)
    alignment, alignment_error = _alignment_or_error(run, target)
    context = {
        "run": run,
        "active": run.status in Run.ACTIVE,
        "targets": Target.objects.filter(scheme=run.scheme),
        "target": target,
        "alignment": alignment,
        "alignment_error": alignment_error,
        "chart": selectors.profile_chart([run]) if run.profile else None,
        "rows": selectors.profile_rows(run) if run.profile else [],
        "agreement": human_agreement(run=run) if run.profile else None,
    }
    template = "evaluation/run.html#status" if request.htmx else "evaluation/run.html"
    return render(request, template, context)


@role_required(RESEARCHER)
@require_POST
def run_cancel_view(request: HttpRequest, run_id: int) -> HttpResponse:
    """Researchers: stop a run; its answers so far are kept."""
    try:
        run_cancel(run=_get_run(run_id))
    except ValidationError as error:
        messages.error(request, error_text(error))
    return redirect("evaluation:run", run_id=run_id)


@role_required(RESEARCHER)
@require_POST
def run_resume_view(request: HttpRequest, run_id: int) -> HttpResponse:
    """Researchers: start a stopped run again; it continues where it stopped."""
    run_start(run=_get_run(run_id), created_by=request.user)
    return redirect("evaluation:run", run_id=run_id)


@role_required(RESEARCHER)
@require_POST
def human_check_view(request: HttpRequest, run_id: int) -> HttpResponse:
    """Researchers: send a sample of the run's pairs to an annotation project for people."""
    run = _get_run(run_id)
    sample = request.POST.get("sample", "50")
    try:
        sent = human_check_send(
            run=run, sample=int(sample) if sample.isdigit() else 0, user=request.user
        )
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(
            request,
            f"Sent {sent['stored']} pairs to the annotation project “{sent['project'].name}”"
            + (f" ({sent['duplicates']} were there already)." if sent["duplicates"] else "."),
        )
    return redirect("evaluation:run", run_id=run_id)


@role_required(RESEARCHER)
@require_GET
def responses_page(request: HttpRequest, run_id: int) -> HttpResponse:
    """Researchers: the responses behind a figure (all, or those with a label on a value)."""
    run = _get_run(run_id)
    value = request.GET.get("value") or None
    label = request.GET.get("label")
    label = int(label) if label in ("-1", "0", "1") else None
    if value and value not in selectors.run_dimensions(run):
        value = None
    responses = selectors.responses_behind(run=run, value=value, label=label)
    page = Paginator(responses, 25).get_page(request.GET.get("page"))
    labels = selectors.response_labels(run=run, response_ids=[r.pk for r in page])
    rows = [{"response": r, "labels": labels.get(r.pk, {})} for r in page]
    return render(
        request,
        "evaluation/responses.html",
        {
            "run": run,
            "value": value,
            "label": label,
            "page": page,
            "rows": rows,
            "total": page.paginator.count,
            "dimensions": selectors.run_dimensions(run),
        },
    )


@role_required(RESEARCHER)
@require_GET
def compare_page(request: HttpRequest) -> HttpResponse:
    """Researchers: several subjects' profiles side by side (same evaluator's scale)."""
    chosen = [pk for pk in request.GET.getlist("run") if pk.isdigit()]
    runs, error = selectors.runs_to_compare(run_ids=chosen)
    return render(
        request,
        "evaluation/compare.html",
        {
            "runs": runs,
            "choices": selectors.runs_done()[:200],
            "chosen": {int(pk) for pk in chosen},
            "chart": selectors.profile_chart(runs) if runs and not error else None,
            "table": selectors.profiles_side_by_side(runs) if not error else [],
            "error": error,
        },
    )


@role_required(RESEARCHER)
@require_GET
def leaderboard_page(request: HttpRequest) -> HttpResponse:
    """Researchers: finished runs ranked by alignment to a chosen target."""
    target = _target_for(request)
    sort = request.GET.get("sort", "distance")
    rows = []
    if target is not None:
        rows, sort = runs_by_alignment(target=target, sort=sort)
    return render(
        request,
        "evaluation/leaderboard.html",
        {"targets": Target.objects.all(), "target": target, "rows": rows, "sort": sort},
    )


@role_required(RESEARCHER)
@require_GET
def run_export_jsonl(request: HttpRequest, run_id: int) -> StreamingHttpResponse:
    """Researchers: the run's responses with their labels, one JSON object a line."""
    run = _get_run(run_id)
    records = (jsonl_line(record) for record in selectors.run_export_records(run))
    response = StreamingHttpResponse(text_chunks(records), content_type="application/jsonl")
    response["Content-Disposition"] = f'attachment; filename="run-{run.pk}-responses.jsonl"'
    return response


@role_required(RESEARCHER)
@require_GET
def profiles_export_csv(request: HttpRequest) -> HttpResponse:
    """Researchers: the profiles of the chosen runs (all finished runs if none), as CSV."""
    chosen = [pk for pk in request.GET.getlist("run") if pk.isdigit()]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(selectors.PROFILE_CSV_HEADER)
    writer.writerows(selectors.profiles_csv_rows(run_ids=chosen))
    response = HttpResponse(out.getvalue(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="profiles.csv"'
    return response


@role_required(RESEARCHER)
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def evolve_page(request: HttpRequest) -> HttpResponse:
    """Researchers: evolve test items where subjects disagree; the pools it made, item by item."""
    form = EvolveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            evolve_start(
                pool=data["pool"],
                subjects=list(data["subjects"]),
                evaluator_path=data["evaluator"].path,
                value=data["value"].strip().lower(),
                rounds=data["rounds"],
                keep=data["keep"],
                max_calls=data["max_calls"],
                created_by=request.user,
            )
        except ValidationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(request, "Started evolving items; its progress is below.")
            return redirect("evaluation:evolve")
    jobs = list(selectors.evolve_jobs_recent())
    jobs_context = {"jobs": jobs, "active": any(not job.is_finished for job in jobs)}
    if request.htmx:
        return render(request, "evaluation/evolve.html#jobs", jobs_context)
    return render(
        request,
        "evaluation/evolve.html",
        {
            "form": form,
            "pools": selectors.evolved_pools(),
            **jobs_context,
        },
    )


@role_required(RESEARCHER)
@require_POST
def evolve_cancel_view(request: HttpRequest, job_id) -> HttpResponse:
    """Researchers: stop an evolve job (at its next answer or scored batch)."""
    job = get_object_or_404(Job, pk=job_id)
    try:
        evolve_cancel(job=job)
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, "Asked the job to stop; it stops at its next step.")
    return redirect("evaluation:evolve")
