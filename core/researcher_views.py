"""Researchers' pages of core: the researcher home, building and editing a study, a study's
Prolific set-up and participants, the LLM check."""

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import llm_check
from core.forms import StudyForm
from core.models import Study
from core.roles import RESEARCHER, role_required
from core.selectors import (
    jobs_visible_to,
    llm_usage_by_study,
    studies_with_counts,
    task_unavailable,
)
from core.services import (
    completion_url,
    study_create,
    study_tasks_editable,
    study_update,
)
from core.study_tasks import task_preview_url, task_summary

# Prolific replaces these placeholders with the participant's, study's and session's ids.
PROLIFIC_QUERY = (
    "?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
)


@role_required(RESEARCHER)
@require_GET
def researcher_home(request: HttpRequest) -> HttpResponse:
    """Researchers: studies with their numbers, LLM cost per study, recent jobs."""
    context = {
        "studies": studies_with_counts(),
        "usage": llm_usage_by_study(),
        "jobs": jobs_visible_to(user=request.user).select_related("created_by")[:10],
        "check_key": uuid.uuid4().hex,
    }
    return render(request, "core/researcher_home.html", context)


@role_required(RESEARCHER)
@require_http_methods(["GET", "POST"])
def study_new(request: HttpRequest) -> HttpResponse:
    """Researchers: create a study and choose its tasks."""
    form = StudyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        chosen = form.task_specs()
        try:
            study = study_create(
                created_by=request.user, tasks=[spec for _, spec in chosen], **_study_fields(form)
            )
        except ValidationError as error:
            _task_errors_to_form(form, error, [prefix for prefix, _ in chosen])
        else:
            messages.success(request, f"Study “{study.title}” created.")
            return redirect("core:researcher_study", slug=study.slug)
    return render(request, "core/study_new.html", {"form": form})


@role_required(RESEARCHER)
@require_http_methods(["GET", "POST"])
def study_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """Researchers: change a study's tasks (settings, order, which ones) until someone joins."""
    study = get_object_or_404(Study, slug=slug)
    editable = study_tasks_editable(study=study)
    page_can_show = StudyForm.page_can_show(study)
    form = None
    status = 200
    if editable and page_can_show:
        form = StudyForm(request.POST or None, instance=study, initial=StudyForm.initial_for(study))
    elif request.method == "POST":
        status = 400  # a tab opened before the first participant arrived
    if form is not None and request.method == "POST" and form.is_valid():
        chosen = form.task_specs()
        fields = {name: form.cleaned_data[name] for name in StudyForm.Meta.fields if name != "slug"}
        try:
            study_update(study=study, tasks=[spec for _, spec in chosen], **fields)
        except ValidationError as error:
            if "tasks" in error.message_dict:  # someone joined while the page was open
                form, editable, status = None, False, 400
            else:
                _task_errors_to_form(form, error, [prefix for prefix, _ in chosen])
        else:
            messages.success(request, f"The tasks of “{study.title}” were saved.")
            return redirect("core:researcher_study", slug=study.slug)
    context = {
        "form": form,
        "study": study,
        "editable": editable,
        "page_can_show": page_can_show,
        "n_participants": study.participations.count(),
    }
    return render(request, "core/study_edit.html", context, status=status)


def _task_errors_to_form(form: StudyForm, error: ValidationError, prefixes: list[str]) -> None:
    """Put ``tasks[i].config.<field>`` errors beside the field of the i-th chosen task."""
    for name, problems in error.message_dict.items():
        field = name if name in form.fields else None
        if name.startswith("tasks["):
            index_text, _, rest = name.removeprefix("tasks[").partition("].")
            key = rest.removeprefix("config.")
            if index_text.isdigit() and int(index_text) < len(prefixes):
                candidate = f"{prefixes[int(index_text)]}-{key}"
                field = candidate if candidate in form.fields else None
                if field is None:
                    problems = [f"{name}: {problem}" for problem in problems]
        form.add_error(field, problems)


def _study_fields(form: StudyForm) -> dict:
    return {name: form.cleaned_data[name] for name in StudyForm.Meta.fields}


@role_required(RESEARCHER)
@require_GET
def researcher_study(request: HttpRequest, slug: str) -> HttpResponse:
    """Researchers: a study's Prolific link, tasks and participants."""
    study = get_object_or_404(studies_with_counts(), slug=slug)
    join_url = request.build_absolute_uri(reverse("core:join", args=[slug])) + PROLIFIC_QUERY
    participations = study.participations.select_related("user").order_by("-joined")[:200]
    context = {
        "study": study,
        "join_url": join_url,
        "completion_url": completion_url(study=study),
        "participations": participations,
        "task_rows": [
            (task, task_unavailable(task), task_preview_url(task), task_summary(task))
            for task in study.tasks.all()
        ],
        "editable": study_tasks_editable(study=study),
    }
    return render(request, "core/researcher_study.html", context)


@role_required(RESEARCHER)
@require_POST
def llm_check_start(request: HttpRequest) -> HttpResponse:
    """Researchers: start a job that tries every LLM gateway call and reports what works."""
    job = llm_check.llm_check_start(created_by=request.user, token=request.POST.get("key"))
    return redirect("core:job", job_id=job.pk)
