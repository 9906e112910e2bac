"""Pages of the moral graph for everyone signed in: the voting page, and a participant's view
of where their values ended up (researchers' pages: ``researcher_views``)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.models import Participation, StudyTask
from core.roles import ADMIN, PARTICIPANT, RESEARCHER, role_required
from core.selectors import task_out_of_order, task_study_url
from elicitation.models import Deliberation, MoralContext, ValuesCard
from moralgraph.forms import positive_int
from moralgraph.models import (
    FairnessAnswer,
    UpgradeStory,
    Vote,
)
from moralgraph.selectors import (
    min_votes,
    positions_for_voter,
    rule_for,
    vote_page_notice,
    vote_refusal,
)
from moralgraph.services import (
    fairness_answer_set,
    story_show_next,
    vote_submit,
)
from moralgraph.snapshots import rule_text
from moralgraph.study_tasks import KIND as VOTE_TASK_KIND
from moralgraph.study_tasks import task_votes_for_voter
from moralgraph.vote_page import (
    PAGE_VERSION,
    posted_page_version,
    posted_yes_first,
    task_answer_order,
    yes_first_for,
)

EVERYONE = (PARTICIPANT, RESEARCHER, ADMIN)


def _get_deliberation(request: HttpRequest, name: str) -> Deliberation:
    # Every deliberation is open to every signed-in role today; the one place to narrow that.
    return get_object_or_404(Deliberation, name=name)


# --- participants ------------------------------------------------------------------------------


def _voting_task(request: HttpRequest, deliberation: Deliberation) -> StudyTask | None:
    """Return the voting task named in ``?task=`` if the user takes part in its study (or
    previews it: a researcher sees the task's settings, and nothing is stored)."""
    task_id = positive_int(request.GET.get("task") or request.POST.get("task"))
    if task_id is None:
        return None
    task = StudyTask.objects.filter(pk=task_id, kind=VOTE_TASK_KIND).select_related("study").first()
    if task is None:
        return None
    if _is_preview(request, deliberation):
        return task
    if not Participation.objects.filter(study=task.study, user=request.user).exists():
        return None
    return task


def _is_preview(request: HttpRequest, deliberation: Deliberation) -> bool:
    """Whether the user only previews the page (a researcher): their answers are never stored."""
    return vote_refusal(voter=request.user, deliberation=deliberation) == "preview"


def _vote_context(request: HttpRequest, deliberation: Deliberation, **extra) -> dict:
    task = _voting_task(request, deliberation)
    done, needed = task_votes_for_voter(task, deliberation, request.user)
    story = None
    if done < needed:
        story = story_show_next(voter=request.user, deliberation=deliberation)
        if story is None:  # nothing left for this voter after all: what they did is the task
            needed = done
    return {
        "deliberation": deliberation,
        "story": story,
        "task": task,
        "done": done,
        "needed": needed,
        "position": min(done + 1, needed),
        "finished": done >= needed,
        "choices": Vote.Choice.choices,
        "page_version": PAGE_VERSION,
        "yes_first": _yes_first(request, deliberation, task),
        "preview": _is_preview(request, deliberation),
        "refusal_notice": vote_page_notice(voter=request.user, deliberation=deliberation),
        **extra,
    }


def _yes_first(request: HttpRequest, deliberation: Deliberation, task: StudyTask | None) -> bool:
    order = task_answer_order(task.config if task else None)
    return yes_first_for(voter_id=request.user.pk, deliberation_id=deliberation.pk, order=order)


@role_required(*EVERYONE)
@require_http_methods(["GET", "POST"])
@never_cache  # Back/Forward must never show an answered pair as open.
def vote(request: HttpRequest, name: str) -> HttpResponse:
    """Anyone signed in: read a story and say whether its person became wiser; next pair."""
    deliberation = _get_deliberation(request, name)
    detour = task_out_of_order(user=request.user, kind=VOTE_TASK_KIND, target=deliberation.name)
    if detour and request.method == "GET":
        return redirect(detour)  # tasks are taken in order
    error = notice = ""
    status = 200
    if request.method == "POST":
        story = UpgradeStory.objects.filter(pk=positive_int(request.POST.get("story"))).first()
        try:
            if story is None:
                raise ValidationError({"story": "No such story."})
            vote, created = vote_submit(
                voter=request.user,
                deliberation=deliberation,
                story=story,
                choice=request.POST.get("choice", ""),
                comment=request.POST.get("comment", "")[:5000],
                page_version=posted_page_version(request.POST.get("page_version")),
                yes_first=_posted_order(request, deliberation),
            )
        except ValidationError as exc:
            error, status = " ".join(exc.messages), 400
        except PermissionDenied as exc:
            error, status = str(exc), 403
        else:
            if vote.pk is None:  # a researcher's preview
                notice = "Preview: your answer was checked and not stored; the pair stays."
            elif not created:  # a second tab, or Back and answer again
                answer = vote.get_choice_display()
                notice = f"You had already answered that pair; your answer is now “{answer}”."
    context = _vote_context(request, deliberation, error=error, notice=notice)
    if context["finished"] and context["task"] is not None:
        context["study_url"] = reverse("core:study", args=[context["task"].study.slug])
    elif context["finished"] or context["story"] is None:
        context["study_url"] = task_study_url(
            user=request.user, kind=VOTE_TASK_KIND, target=deliberation.name
        )
    template = "moralgraph/vote.html#pair" if request.htmx else "moralgraph/vote.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _posted_order(request: HttpRequest, deliberation: Deliberation) -> bool:
    """The order of Yes and No the form was shown with (the form says; else the task's)."""
    posted = posted_yes_first(request.POST.get("order"))
    if posted is not None:
        return posted
    return _yes_first(request, deliberation, _voting_task(request, deliberation))


@role_required(*EVERYONE)
@require_http_methods(["GET", "POST"])
def mine(request: HttpRequest, name: str) -> HttpResponse:
    """Anyone signed in: where their own values ended up, and "is this a fair position?"."""
    deliberation = _get_deliberation(request, name)
    status = 200
    if request.method == "POST":
        card = ValuesCard.objects.filter(pk=positive_int(request.POST.get("card"))).first()
        context_row = MoralContext.objects.filter(
            pk=positive_int(request.POST.get("context"))
        ).first()
        if card is None or context_row is None:
            return HttpResponseBadRequest("Unknown value or context.")
        try:
            fairness_answer_set(
                voter=request.user,
                card=card,
                context=context_row,
                answer=request.POST.get("answer", ""),
                comment=request.POST.get("comment", "")[:5000],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            status = 400
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            status = 403
        else:
            messages.success(request, "Thank you, your answer is saved.")
            return redirect("moralgraph:mine", name=name)
    context = {
        "deliberation": deliberation,
        "positions": positions_for_voter(voter=request.user, deliberation=deliberation),
        "answers": FairnessAnswer.Answer.choices,
        "rule_text": rule_text(rule_for(deliberation), min_votes()),
    }
    return render(request, "moralgraph/mine.html", context, status=status)
