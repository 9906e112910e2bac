"""Researcher pages of elicitation: deliberations, scenarios, contexts, clusters, transcripts.

Participants never reach these: every view is for researchers (and admins) only.
"""

import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.models import Study
from core.roles import RESEARCHER, role_required
from elicitation import contexts as context_proposals
from elicitation import dedup, grading
from elicitation.forms import ContextForm, DeliberationForm, ScenarioForm
from elicitation.models import (
    Chat,
    ContextProposal,
    Deliberation,
    Scenario,
    ValuesCard,
)
from elicitation.services.deliberations import (
    context_include,
    deliberation_create,
    interview_task_include,
    scenario_include,
)
from elicitation.study_tasks import KIND as STUDY_TASK_KIND


def _form_errors(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(f"{field}: {' '.join(m)}" for field, m in error.message_dict.items())
    return " ".join(error.messages)


CLUSTERS_PER_PAGE = 10


def _get_deliberation(name: str) -> Deliberation:
    return get_object_or_404(Deliberation, name=name)


# --- deliberations, scenarios, contexts ---------------------------------------------------------


@role_required(RESEARCHER)
@require_http_methods(["GET", "POST"])
def deliberation_list(request: HttpRequest) -> HttpResponse:
    """Researchers: the deliberations with their numbers, and a form to create one."""
    form = DeliberationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        existing = Deliberation.objects.filter(name=form.cleaned_data["name"]).first()
        if existing is not None and existing.title == form.cleaned_data["title"]:
            return redirect("elicitation:researcher_deliberation", name=existing.name)
        try:
            deliberation = deliberation_create(**form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, _form_errors(error))
        else:
            messages.success(request, f"Deliberation “{deliberation.title}” created.")
            return redirect("elicitation:researcher_deliberation", name=deliberation.name)
    deliberations = Deliberation.objects.annotate(
        n_scenarios=Count("scenarios", distinct=True),
        n_cards=Count("cards", distinct=True),
        n_values=Count("cards", filter=Q(cards__canonical__isnull=True), distinct=True),
    ).order_by("-created")
    return render(
        request,
        "elicitation/researcher/deliberations.html",
        {"form": form, "deliberations": deliberations},
    )


@role_required(RESEARCHER)
@require_GET
def deliberation_detail(request: HttpRequest, name: str) -> HttpResponse:
    """Researchers: a deliberation's scenarios, contexts, context proposals and studies."""
    deliberation = _get_deliberation(name)
    return _render_detail(request, deliberation)


def _render_detail(request, deliberation, *, scenario_form=None, context_form=None, status=200):
    proposals = ContextProposal.objects.filter(
        deliberation=deliberation, status=ContextProposal.Status.PENDING
    ).select_related("scenario", "similar_to")
    studies_with_it = Study.objects.filter(
        tasks__kind=STUDY_TASK_KIND, tasks__config__deliberation=deliberation.name
    ).distinct()
    context = {
        "deliberation": deliberation,
        "scenarios": deliberation.scenarios.annotate(n_chats=Count("chats")),
        "contexts": deliberation.contexts.prefetch_related("scenarios"),
        "proposals": proposals,
        "scenario_form": scenario_form or ScenarioForm(),
        "context_form": context_form or ContextForm(),
        "studies": Study.objects.exclude(pk__in=studies_with_it).order_by("-created")[:50],
        "studies_with_it": studies_with_it,
        "key": uuid.uuid4().hex,
    }
    return render(request, "elicitation/researcher/deliberation.html", context, status=status)


@role_required(RESEARCHER)
@require_POST
def scenario_add(request: HttpRequest, name: str) -> HttpResponse:
    """Researchers: add a scenario (a double click adds it once)."""
    deliberation = _get_deliberation(name)
    form = ScenarioForm(request.POST)
    if form.is_valid():
        try:
            _, created = scenario_include(
                deliberation=deliberation,
                question=form.cleaned_data["question"],
                seed_message=form.cleaned_data["seed_message"],
            )
        except ValidationError as error:
            form.add_error(None, _form_errors(error))
        else:
            if created:
                messages.success(request, "Scenario added.")
            else:
                messages.info(request, "That scenario is already there.")
            return redirect("elicitation:researcher_deliberation", name=name)
    return _render_detail(request, deliberation, scenario_form=form, status=400)


@role_required(RESEARCHER)
@require_POST
def context_add(request: HttpRequest, name: str) -> HttpResponse:
    """Researchers: type in a moral context, optionally tied to one scenario."""
    deliberation = _get_deliberation(name)
    form = ContextForm(request.POST)
    if form.is_valid():
        scenario_id = request.POST.get("scenario")
        scenario = (
            get_object_or_404(Scenario, pk=scenario_id, deliberation=deliberation)
            if scenario_id
            else None
        )
        try:
            context, _ = context_include(
                deliberation=deliberation, text=form.cleaned_data["text"], scenario=scenario
            )
        except ValidationError as error:
            form.add_error(None, _form_errors(error))
            return _render_detail(request, deliberation, context_form=form, status=400)
        messages.success(request, f"Context “{context.text}” added.")
        return redirect("elicitation:researcher_deliberation", name=name)
    return _render_detail(request, deliberation, context_form=form, status=400)


@role_required(RESEARCHER)
@require_POST
def contexts_generate(request: HttpRequest, scenario_id: int) -> HttpResponse:
    """Researchers: start a job in which the LLM proposes contexts for a scenario."""
    scenario = get_object_or_404(Scenario, pk=scenario_id)
    job = context_proposals.contexts_propose_start(
        scenario=scenario, created_by=request.user, token=request.POST.get("key", "")
    )
    return redirect("core:job", job_id=job.pk)


@role_required(RESEARCHER)
@require_POST
def proposal_decide(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """Researchers: approve or reject a proposed context."""
    proposal = get_object_or_404(
        ContextProposal.objects.select_related("deliberation"), pk=proposal_id
    )
    approve = request.POST.get("decision") == "approve"
    try:
        context_proposals.context_proposal_decide(
            proposal=proposal, researcher=request.user, approve=approve
        )
    except ValidationError as error:
        messages.error(request, _form_errors(error))
    else:
        verb = "approved" if approve else "rejected"
        messages.success(request, f"Context “{proposal.text}” {verb}.")
    return redirect("elicitation:researcher_deliberation", name=proposal.deliberation.name)


@role_required(RESEARCHER)
@require_POST
def study_include(request: HttpRequest, name: str) -> HttpResponse:
    """Researchers: add an interview task about this deliberation to a study."""
    deliberation = _get_deliberation(name)
    study = get_object_or_404(Study, pk=request.POST.get("study") or 0)
    interview_task_include(study=study, deliberation=deliberation)
    messages.success(request, f"Study “{study.title}” includes this deliberation.")
    return redirect("elicitation:researcher_deliberation", name=name)


# --- clusters -----------------------------------------------------------------------------------


@role_required(RESEARCHER)
@require_GET
def clusters(request: HttpRequest, name: str) -> HttpResponse:
    """Researchers: clusters of cards with their similarities; merge, split, run de-duplication."""
    deliberation = _get_deliberation(name)
    show_all = request.GET.get("all") == "1"
    search = request.GET.get("q", "").strip()[:100]
    found = dedup.clusters_for_deliberation(
        deliberation=deliberation, min_size=1 if show_all or search else 2, search=search
    )
    canonicals = ValuesCard.objects.filter(
        deliberation=deliberation, canonical__isnull=True
    ).order_by("title")
    page = Paginator(found, CLUSTERS_PER_PAGE).get_page(request.GET.get("page"))
    query = {"q": search} if search else {}
    if show_all:
        query["all"] = "1"
    context = {
        "deliberation": deliberation,
        "clusters": page.object_list,
        "page": page,
        "query": urlencode(query),
        "canonicals": canonicals,
        "n_cards": deliberation.cards.count(),
        "n_values": canonicals.count(),
        "show_all": show_all,
        "search": search,
        "decisions": dedup.dedup_decisions(deliberation=deliberation)[:30],
        "threshold": dedup.dedup_threshold(),
        "key": uuid.uuid4().hex,
    }
    return render(request, "elicitation/researcher/clusters.html", context)


@role_required(RESEARCHER)
@require_POST
def dedup_start_view(request: HttpRequest, name: str) -> HttpResponse:
    """Researchers: start de-duplicating the deliberation's new cards."""
    deliberation = _get_deliberation(name)
    threshold = request.POST.get("threshold", "").strip()
    try:
        job = dedup.dedup_start(
            deliberation=deliberation,
            created_by=request.user,
            threshold=float(threshold) if threshold else None,
            token=request.POST.get("key") or None,
        )
    except (ValueError, ValidationError):
        messages.error(request, "threshold: give a similarity between 0 and 1, e.g. 0.75.")
        return redirect("elicitation:researcher_clusters", name=name)
    return redirect("core:job", job_id=job.pk)


def _back_to_clusters(card: ValuesCard) -> HttpResponse:
    """Return to the page of the clusters list that shows the cluster the card is now in."""
    root = card.canonical_id or card.pk
    found = dedup.clusters_for_deliberation(deliberation=card.deliberation)
    index = next((i for i, c in enumerate(found) if c.canonical.pk == root), 0)
    query = urlencode({"all": "1", "page": index // CLUSTERS_PER_PAGE + 1})
    url = reverse("elicitation:researcher_clusters", args=[card.deliberation.name])
    return redirect(f"{url}?{query}#cluster-{root}")


@role_required(RESEARCHER)
@require_POST
def card_split_view(request: HttpRequest, card_id: int) -> HttpResponse:
    """Researchers: take a card out of its cluster, saying why."""
    card = get_object_or_404(ValuesCard.objects.select_related("deliberation"), pk=card_id)
    try:
        card = dedup.card_split(
            card=card, researcher=request.user, reason=request.POST.get("reason", "")
        )
    except ValidationError as error:
        messages.error(request, _form_errors(error))
    else:
        messages.success(request, f"“{card.title}” is now a value of its own.")
    return _back_to_clusters(card)


@role_required(RESEARCHER)
@require_POST
def card_merge_view(request: HttpRequest, card_id: int) -> HttpResponse:
    """Researchers: merge a card's cluster into another cluster, saying why."""
    card = get_object_or_404(ValuesCard.objects.select_related("deliberation"), pk=card_id)
    into = ValuesCard.objects.filter(
        pk=request.POST.get("into") or 0, deliberation=card.deliberation
    ).first()
    if into is None:
        messages.error(request, "into: choose the cluster to merge into.")
        return _back_to_clusters(card)
    try:
        card = dedup.card_merge_by_researcher(
            card=card, into=into, researcher=request.user, reason=request.POST.get("reason", "")
        )
    except ValidationError as error:
        messages.error(request, _form_errors(error))
    else:
        messages.success(request, f"“{card.title}” merged into “{into.title}”.")
    return _back_to_clusters(card)


# --- transcripts --------------------------------------------------------------------------------


@role_required(RESEARCHER)
@require_GET
def transcripts(request: HttpRequest, name: str) -> HttpResponse:
    """Researchers: the deliberation's interviews, newest first."""
    deliberation = _get_deliberation(name)
    chats = (
        Chat.objects.filter(scenario__deliberation=deliberation)
        .select_related("participant", "scenario", "card")
        .annotate(n_messages=Count("messages"))
        .order_by("-created")[:300]
    )
    return render(
        request,
        "elicitation/researcher/transcripts.html",
        {"deliberation": deliberation, "chats": chats},
    )


@role_required(RESEARCHER)
@require_GET
def transcript(request: HttpRequest, chat_id: int) -> HttpResponse:
    """Researchers: one interview's messages and the card it ended in."""
    chat = get_object_or_404(
        Chat.objects.select_related("participant", "scenario__deliberation", "card"), pk=chat_id
    )
    return render(
        request,
        "elicitation/researcher/transcript.html",
        {
            "chat": chat,
            "deliberation": chat.scenario.deliberation,
            "chat_messages": chat.messages.order_by("pk"),
            "grades": chat.grades.all(),
        },
    )


# --- interview quality --------------------------------------------------------------------------


@role_required(RESEARCHER)
@require_http_methods(["GET", "POST"])
def grades(request: HttpRequest, name: str) -> HttpResponse:
    """Researchers: interview grades per interviewer prompt version; start grading."""
    deliberation = _get_deliberation(name)
    if request.method == "POST":
        job = grading.grading_start(
            created_by=request.user, deliberation=deliberation, token=request.POST.get("key", "")
        )
        return redirect("core:job", job_id=job.pk)
    by_prompt = grading.grades_by_interviewer(deliberation=deliberation)
    chart = {
        "labels": [f"{row.prompt_name} v{row.prompt_version} (n={row.chats})" for row in by_prompt],
        "personal_story": [round(100 * row.personal_story) for row in by_prompt],
        "led_the_witness": [round(100 * row.led_the_witness) for row in by_prompt],
        "one_question_at_a_time": [round(100 * row.one_question_at_a_time) for row in by_prompt],
    }
    context = {
        "deliberation": deliberation,
        "by_prompt": by_prompt,
        "chart": chart,
        "waiting": grading.chats_to_grade(deliberation=deliberation).count(),
        "grader_version": grading.GRADER_VERSION,
        "key": uuid.uuid4().hex,
    }
    return render(request, "elicitation/researcher/grades.html", context)
