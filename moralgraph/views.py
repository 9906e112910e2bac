"""Pages of the moral graph: the researcher's deliberation page and explorer, the voting page,
and a participant's view of where their values ended up."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Max, Min
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from core.models import Participation, Study, StudyTask
from core.roles import ADMIN, PARTICIPANT, RESEARCHER, role_required
from core.selectors import task_out_of_order, task_study_url
from elicitation.models import Deliberation, MoralContext, Scenario, ValuesCard
from moralgraph import graph as moral_graph
from moralgraph.forms import GraphSettingsForm
from moralgraph.models import (
    ContextSnapshot,
    FairnessAnswer,
    Rule,
    StoryImpression,
    UpgradeStory,
    Vote,
)
from moralgraph.selectors import (
    deliberations_with_counts,
    graph_settings,
    min_votes,
    positions_for_voter,
    rule_for,
    vote_page_notice,
    vote_refusal,
    voter_groups,
)
from moralgraph.services import (
    fairness_answer_set,
    graph_rule_set,
    scores_recompute_start,
    stories_generation_start,
    story_show_next,
    vote_submit,
    voting_policy_set,
)
from moralgraph.snapshots import clear_winner_share, rule_text
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


# --- researchers -------------------------------------------------------------------------------


@role_required(RESEARCHER)
def deliberation_list(request: HttpRequest) -> HttpResponse:
    """Researchers: every deliberation with its numbers of values, stories and votes."""
    return render(
        request, "moralgraph/deliberations.html", {"deliberations": deliberations_with_counts()}
    )


@role_required(RESEARCHER)
@require_http_methods(["GET", "POST"])
def deliberation_detail(request: HttpRequest, name: str) -> HttpResponse:
    """Researchers: a deliberation's stories and votes, its rule and voting policy, actions."""
    deliberation = _get_deliberation(request, name)
    policy = graph_settings(deliberation)
    errors: dict = {}
    if request.method == "POST":
        form = GraphSettingsForm(request.POST)
        try:
            if not form.is_valid():
                raise ValidationError(form.errors.as_data())
            # All or nothing: a bad field leaves the rule and the policy as they were.
            with transaction.atomic():
                graph_rule_set(deliberation=deliberation, rule=form.cleaned_data["rule"])
                voting_policy_set(deliberation=deliberation, **form.policy_fields())
        except ValidationError as error:
            errors = error.message_dict
        else:
            messages.success(request, "Settings saved.")
            return redirect("moralgraph:deliberation", name=name)
    runs = (
        UpgradeStory.objects.filter(deliberation=deliberation)
        .values("run_id", "prompt_name", "prompt_version")
        .annotate(n=Count("pk"), first=Min("created"), last=Max("created"))
        .order_by("-last")
    )
    context = {
        "deliberation": deliberation,
        "policy": policy,
        "rule": rule_for(deliberation),
        "rules": Rule.choices,
        "rule_text": rule_text(rule_for(deliberation), min_votes()),
        "errors": errors,
        "runs": runs,
        "counts": {
            "contexts": deliberation.contexts.count(),
            "values": deliberation.cards.filter(canonical__isnull=True).count(),
            "stories": UpgradeStory.objects.filter(deliberation=deliberation).count(),
            # Imported stories were shown before ValueLab recorded showings: their votes count.
            "impressions": StoryImpression.objects.filter(story__deliberation=deliberation).count()
            + Vote.objects.filter(
                story__deliberation=deliberation, story__impressions__isnull=True
            ).count(),
            "votes": Vote.objects.filter(deliberation=deliberation).count(),
            "fairness": FairnessAnswer.objects.filter(card__deliberation=deliberation).count(),
        },
        "key": request.user.pk,
    }
    return render(request, "moralgraph/deliberation.html", context, status=400 if errors else 200)


@role_required(RESEARCHER)
@require_POST
def stories_generate(request: HttpRequest, name: str) -> HttpResponse:
    """Researchers: start writing upgrade stories for the deliberation's candidate pairs."""
    deliberation = _get_deliberation(request, name)
    job = stories_generation_start(
        deliberation=deliberation,
        created_by=request.user,
        token=request.POST.get("token"),
    )
    return redirect("core:job", job_id=job.pk)


@role_required(RESEARCHER)
@require_POST
def scores_recompute(request: HttpRequest, name: str) -> HttpResponse:
    """Researchers: recompute every context's edges and scores now."""
    deliberation = _get_deliberation(request, name)
    job = scores_recompute_start(
        deliberation=deliberation,
        created_by=request.user,
        token=request.POST.get("token"),
    )
    return redirect("core:job", job_id=job.pk)


@role_required(RESEARCHER)
def explorer(request: HttpRequest, name: str) -> HttpResponse:
    """Researchers: the interactive graph of one context, with filters, table and exports."""
    deliberation = _get_deliberation(request, name)
    scenarios = list(Scenario.objects.filter(deliberation=deliberation).order_by("pk"))
    contexts = MoralContext.objects.filter(deliberation=deliberation).order_by("pk")
    scenario_id = _positive_int(request.GET.get("scenario"))
    if scenario_id:
        contexts = contexts.filter(scenarios__pk=scenario_id)
    snapshots = {s.context_id: s for s in ContextSnapshot.objects.filter(deliberation=deliberation)}
    contexts = list(contexts)
    for item in contexts:
        snapshot = snapshots.get(item.pk)
        item.n_values = snapshot.n_values if snapshot and snapshot.computed else None
        item.n_edges = snapshot.n_edges if snapshot and snapshot.computed else None
    chosen_id = _positive_int(request.GET.get("context"))
    chosen = next((c for c in contexts if c.pk == chosen_id), None)
    if chosen is None and contexts:
        # The busiest context first: the one with the most votes.
        busiest = (
            Vote.objects.filter(deliberation=deliberation, context__in=contexts)
            .values("context_id")
            .annotate(n=Count("pk"))
            .order_by("-n", "context_id")
            .first()
        )
        chosen = next((c for c in contexts if busiest and c.pk == busiest["context_id"]), None)
        chosen = chosen or contexts[0]
    group = request.GET.get("group", "")
    studies = Study.objects.filter(
        participations__user__moral_graph_votes__deliberation=deliberation
    ).distinct()
    rule = rule_for(deliberation)
    context = {
        "deliberation": deliberation,
        "scenarios": scenarios,
        "scenario_id": scenario_id,
        "contexts": contexts,
        "chosen": chosen,
        "studies": studies,
        "group": group,
        "attribute_groups": voter_groups(deliberation=deliberation),
        "rule": rule,
        "rule_text": rule_text(rule, min_votes()),
        "clear_winner_percent": round(clear_winner_share() * 100),
        "formats": list(moral_graph.FORMATS),
    }
    return render(request, "moralgraph/explorer.html", context)


def _positive_int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and int(text) > 0 else None


# --- participants ------------------------------------------------------------------------------


def _voting_task(request: HttpRequest, deliberation: Deliberation) -> StudyTask | None:
    """Return the voting task named in ``?task=`` if the user takes part in its study (or
    previews it: a researcher sees the task's settings, and nothing is stored)."""
    task_id = _positive_int(request.GET.get("task") or request.POST.get("task"))
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
        story = UpgradeStory.objects.filter(pk=_positive_int(request.POST.get("story"))).first()
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
        card = ValuesCard.objects.filter(pk=_positive_int(request.POST.get("card"))).first()
        context_row = MoralContext.objects.filter(
            pk=_positive_int(request.POST.get("context"))
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
