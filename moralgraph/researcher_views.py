"""Researcher pages of the moral graph: the deliberations, a deliberation's settings and runs,
and the explorer. Every view here is for researchers only."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Min
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from core.models import Study
from core.roles import RESEARCHER, role_required
from elicitation.models import Deliberation, MoralContext, Scenario
from moralgraph import graph as moral_graph
from moralgraph.forms import GraphSettingsForm, positive_int
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
    rule_for,
    voter_groups,
)
from moralgraph.services import (
    graph_rule_set,
    scores_recompute_start,
    stories_generation_start,
    voting_policy_set,
)
from moralgraph.snapshots import clear_winner_share, rule_text


def _get_deliberation(name: str) -> Deliberation:
    # Researchers see every deliberation.
    return get_object_or_404(Deliberation, name=name)


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
    deliberation = _get_deliberation(name)
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
    return _job_start(request, name, stories_generation_start)


@role_required(RESEARCHER)
@require_POST
def scores_recompute(request: HttpRequest, name: str) -> HttpResponse:
    """Researchers: recompute every context's edges and scores now."""
    return _job_start(request, name, scores_recompute_start)


def _job_start(request: HttpRequest, name: str, start) -> HttpResponse:
    """Start ``start``'s job on the deliberation (once per form token) and show its progress."""
    job = start(
        deliberation=_get_deliberation(name),
        created_by=request.user,
        token=request.POST.get("token"),
    )
    return redirect("core:job", job_id=job.pk)


@role_required(RESEARCHER)
def explorer(request: HttpRequest, name: str) -> HttpResponse:
    """Researchers: the interactive graph of one context, with filters, table and exports."""
    deliberation = _get_deliberation(name)
    scenarios = list(Scenario.objects.filter(deliberation=deliberation).order_by("pk"))
    contexts = MoralContext.objects.filter(deliberation=deliberation).order_by("pk")
    scenario_id = positive_int(request.GET.get("scenario"))
    if scenario_id:
        contexts = contexts.filter(scenarios__pk=scenario_id)
    snapshots = {s.context_id: s for s in ContextSnapshot.objects.filter(deliberation=deliberation)}
    contexts = list(contexts)
    for item in contexts:
        snapshot = snapshots.get(item.pk)
        item.n_values = snapshot.n_values if snapshot and snapshot.computed else None
        item.n_edges = snapshot.n_edges if snapshot and snapshot.computed else None
    chosen_id = positive_int(request.GET.get("context"))
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
