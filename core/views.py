"""Pages of core: sign-in landing, the Prolific entry, the study page, jobs (the researcher's pages:
``core.researcher_views``)."""

import logging
import uuid

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from core.jobs import JOB_TYPES, job_cancel
from core.models import Job, Participation, Study, StudyTask
from core.roles import ADMIN, PARTICIPANT, RESEARCHER, role_required, user_has_role
from core.selectors import (
    jobs_visible_to,
    participation_for_user,
    participation_task_states,
    task_out_of_order,
)
from core.services import (
    completion_url,
    participant_join,
    participation_refresh_completion,
    task_complete,
)
from core.throttling import rate_limited

logger = logging.getLogger(__name__)

ALL_ROLES = (PARTICIPANT, RESEARCHER, ADMIN)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Anyone: send each user to where their work is."""
    if not request.user.is_authenticated:
        return redirect("login")
    if user_has_role(request.user, RESEARCHER):
        return redirect("core:researcher_home")
    participation = request.user.participations.select_related("study").order_by("-joined").first()
    if participation:
        return redirect("core:study", slug=participation.study.slug)
    return render(request, "core/no_study.html")


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Anyone (load balancers): 200 when the database answers, 503 when it does not.

    It says only ok or error; what went wrong goes to the server log, never to the caller.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # the point is to report any database failure, in the log only
        logger.exception("Health check: the database does not answer")
        return JsonResponse({"status": "error", "database": "error"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Anyone: the not-found page. A participant (an old link to a task whose items were
    removed, say) is told it is not available and led back to their study, which goes on."""
    participation = None
    if user_has_role(request.user, PARTICIPANT):
        participation = (
            request.user.participations.select_related("study")
            .order_by(F("completed").asc(nulls_first=True), "-joined")
            .first()
        )
    return render(request, "404.html", {"participation": participation}, status=404)


# --- Participants -------------------------------------------------------------------------------


@rate_limited("join", per_ip=True)
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, slug: str) -> HttpResponse:
    """Anyone with the study link: create or resume the Prolific participant and sign them in.

    Someone else signed in in this browser is asked first (a POST with CSRF): a plain GET of a
    crafted link never replaces their session.
    """
    study = Study.objects.filter(slug=slug).first()
    if study is None:
        return render(
            request,
            "core/join_error.html",
            {"reason": "There is no study at this address."},
            status=404,
        )
    pid = request.GET.get("PROLIFIC_PID")
    signed_in = request.user if request.user.is_authenticated else None
    if signed_in is not None and signed_in.prolific_pid != pid and request.method != "POST":
        context = {"study": study, "signed_in": signed_in, "action": request.get_full_path()}
        return render(request, "core/join_confirm.html", context)
    try:
        participation = participant_join(
            study=study,
            prolific_pid=pid,
            study_id=request.GET.get("STUDY_ID", ""),
            session_id=request.GET.get("SESSION_ID", ""),
            signed_in=signed_in,
        )
    except ValidationError as error:
        return render(
            request,
            "core/join_error.html",
            {"study": study, "reason": " ".join(error.messages)},
            status=400,
        )
    if request.user != participation.user:
        login(request, participation.user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("core:study", slug=study.slug)


def _get_participation_for_user(request: HttpRequest, slug: str) -> Participation:
    """Return the signed-in participant's place in the study ``slug``, or 404."""
    study = get_object_or_404(Study, slug=slug)
    participation = participation_for_user(study=study, user=request.user)
    if participation is None:
        raise Http404("You have not joined this study.")
    return participation


@role_required(PARTICIPANT)
@require_GET
def study_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Participants of the study: their tasks in order, and the completion code once done."""
    participation = _get_participation_for_user(request, slug)
    states = participation_task_states(participation=participation)
    done = participation_refresh_completion(participation=participation)
    next_task = next((state for state in states if not state.settled), None)
    context = {
        "study": participation.study,
        "participation": participation,
        "states": states,
        "next_task": next_task,
        "done": done,
        "completion_url": completion_url(study=participation.study) if done else None,
    }
    return render(request, "core/study.html", context)


@role_required(PARTICIPANT, RESEARCHER)
@require_http_methods(["GET", "POST"])
def consent(request: HttpRequest, slug: str, task_id: int) -> HttpResponse:
    """Participants of the study: read the consent text and agree (agreeing twice is harmless).
    Researchers: the same page as a preview; agreeing stores nothing."""
    if not user_has_role(request.user, PARTICIPANT):
        return _consent_preview(request, slug, task_id)
    participation = _get_participation_for_user(request, slug)
    task = get_object_or_404(StudyTask, pk=task_id, study=participation.study, kind="consent")
    if detour := task_out_of_order(user=request.user, kind="consent", target=task.pk):
        return redirect(detour)  # tasks are taken in order
    if request.method == "POST":
        if request.POST.get("agree") != "yes":
            messages.error(request, "Tick the box to agree, or close this page to leave the study.")
        else:
            task_complete(participation=participation, task=task)
            return redirect("core:study", slug=slug)
    return render(request, "core/consent.html", {"study": participation.study, "task": task})


def _consent_preview(request: HttpRequest, slug: str, task_id: int) -> HttpResponse:
    task = get_object_or_404(StudyTask, pk=task_id, study__slug=slug, kind="consent")
    if request.method == "POST" and request.POST.get("agree") != "yes":
        messages.error(request, "Tick the box to agree, or close this page to leave the study.")
    elif request.method == "POST":
        messages.info(request, "Preview: a participant would go on to the next task now.")
    context = {"study": task.study, "task": task, "preview": True}
    return render(request, "core/consent.html", context)


def _get_job_for_user(request: HttpRequest, job_id: uuid.UUID) -> Job:
    return get_object_or_404(jobs_visible_to(user=request.user), pk=job_id)


@role_required(*ALL_ROLES)
@require_GET
@vary_on_headers("HX-Request")
def job_page(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """The job's owner and researchers: the job's progress (polled by htmx) and its outcome."""
    job = _get_job_for_user(request, job_id)
    template = "core/job.html#progress" if request.htmx else "core/job.html"
    job_type = JOB_TYPES.get(job.kind)
    title = job_type.title if job_type and job_type.title else job.kind
    return render(request, template, {"job": job, "title": title})


@role_required(*ALL_ROLES)
@require_POST
def job_cancel_view(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """The job's owner and researchers: ask the job to stop."""
    job = job_cancel(job=_get_job_for_user(request, job_id))
    if request.htmx:
        return render(request, "core/job.html#progress", {"job": job})
    return redirect("core:job", job_id=job.pk)
