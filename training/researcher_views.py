"""Researcher pages of training: targets, models, training and alignment runs, scoring a project,
DPO exports. Every view here is for researchers only."""

import uuid
from pathlib import Path

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from core.jobs import JOB_TYPES, job_key
from core.models import Job
from core.roles import RESEARCHER, role_required
from training import reports, targets
from training.alignment import DEFAULTS as ALIGN_DEFAULTS
from training.forms import AlignForm, DpoExportForm, EvaluatorTrainForm, ScoreProjectForm
from training.models import ModelArtifact, RunLog, Target
from training.schemes import scheme_dimensions
from training.selectors import artifacts_list, targets_for_user
from training.services import (
    DEFAULT_DESIGN,
    alignment_start,
    dpo_export_start,
    error_text,
    evaluator_train_start,
    job_start_with_file,
    project_score_start,
    prompts_write,
    save_upload,
    target_create,
    training_dir,
)

SCHEME = "schwartz10"


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
            errors[action or "form"] = error_text(error)
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


def _form_error(form, error: ValidationError) -> None:
    for field, problems in error.message_dict.items():
        form.add_error(field if field in form.fields else None, problems)


@role_required(RESEARCHER)
@require_GET
def model_list(request: HttpRequest) -> HttpResponse:
    """Researchers: every registered model with its headline figures."""
    rows = []
    for artifact in artifacts_list():
        card = artifact.card or {}
        test = card.get("metrics", {}).get("test", {}).get("overall")
        report = card.get("report", {})
        rows.append(
            {
                "artifact": artifact,
                "test": test,
                "before": report.get("before", {}).get("mean_distance"),
                "after": report.get("after", {}).get("mean_distance"),
            }
        )
    return render(request, "training/models.html", {"rows": rows})


SAMPLES_PER_PAGE = 10


@role_required(RESEARCHER)
@require_GET
@vary_on_headers("HX-Request")
def model_detail(request: HttpRequest, artifact_id: int) -> HttpResponse:
    """Researchers: a model's card; an evaluator's metrics and plots, a policy's report (its
    samples a page at a time: the htmx request for another page gets the samples alone)."""
    artifact = get_object_or_404(artifacts_list(), pk=artifact_id)
    if artifact.kind == ModelArtifact.Kind.POLICY:
        context = {"artifact": artifact} | reports.policy_report(artifact.card)
        page = Paginator(context["samples"], SAMPLES_PER_PAGE).get_page(request.GET.get("page"))
        context["samples_page"] = page
        template = "training/policy.html#samples" if request.htmx else "training/policy.html"
        return render(request, template, context)
    context = {"artifact": artifact} | reports.evaluator_report(artifact.card)
    return render(request, "training/evaluator.html", context)


@role_required(RESEARCHER)
@require_http_methods(["GET", "POST"])
def train_page(request: HttpRequest) -> HttpResponse:
    """Researchers: train an evaluator on a project's labels or an uploaded JSONL."""
    form = EvaluatorTrainForm(request.POST or None, request.FILES or None)

    def start_job(data: dict) -> Job:
        project = data["project"]

        def write() -> Path | None:
            return None if project else save_upload(data["file"], stem=data["name"])

        def start(upload: Path | None) -> Job:
            if project:
                data_source = {"project": project}
            else:
                data_source = {"data_file": upload, "source": {"upload": data["file"].name}}
            return evaluator_train_start(
                created_by=request.user,
                name=data["name"],
                base_model=data["base_model"].strip(),
                scheme=SCHEME,
                **data_source,
                epochs=data["epochs"],
                batch_size=data["batch_size"],
                max_steps=data["max_steps"],
                design=data["design"] or DEFAULT_DESIGN,
                skip_invalid=data["skip_invalid"],
                idempotency_key=key,
            )

        key = job_key("training.train", token=data["key"])
        return job_start_with_file(write=write, start=start, idempotency_key=key)

    return _start_page(request, form, start_job, "Train a value evaluator", "train")


@role_required(RESEARCHER)
@require_http_methods(["GET", "POST"])
def align_page(request: HttpRequest) -> HttpResponse:
    """Researchers: align a policy LLM to a target with GRPO (BaseAlign)."""
    initial = {"target": request.GET.get("target")} if request.GET.get("target") else None
    form = AlignForm(request.POST or None, request.FILES or None, initial=initial)

    def start_job(data: dict) -> Job:
        def start(prompts_file: Path | None) -> Job:
            return alignment_start(
                created_by=request.user,
                evaluator_artifact=data["evaluator"],
                policy=data["policy"].strip(),
                target=data["target"],
                prompts_file=prompts_file,
                name=data["name"],
                steps=data["steps"],
                num_generations=data["num_generations"],
                max_completion_length=data["max_completion_length"],
                learning_rate=data.get("learning_rate") or ALIGN_DEFAULTS.learning_rate,
                report_prompts=data["report_prompts"],
                distance=data["distance"],
                guard=data.get("guard") or ALIGN_DEFAULTS.guard,
                lora=data["lora"],
                idempotency_key=key,
            )

        key = job_key("training.align", token=data["key"])
        return job_start_with_file(
            write=lambda: _align_prompts_file(data), start=start, idempotency_key=key
        )

    return _start_page(request, form, start_job, "Align a policy to a target (BaseAlign)", "align")


@role_required(RESEARCHER)
@require_http_methods(["GET", "POST"])
def score_page(request: HttpRequest) -> HttpResponse:
    """Researchers: pre-label an annotation project's items with a trained evaluator."""
    form = ScoreProjectForm(request.POST or None)

    def start_job(data: dict) -> Job:
        return project_score_start(
            created_by=request.user,
            artifact=data["evaluator"],
            project=data["project"],
            replace=data["replace"],
            batch_size=data["batch_size"],
            idempotency_key=job_key("training.score", token=data["key"]),
        )

    title = "Pre-label a project with an evaluator"
    return _start_page(request, form, start_job, title, "score")


def _align_prompts_file(data: dict) -> Path:
    """Write the alignment prompts (a project's or the upload) to a new file; return where."""
    if data["project"]:
        prompts = data["project"].items.order_by("pk").values_list("prompt", flat=True)
        stem = f"{data['name']}-{data['key'][:8]}-{uuid.uuid4().hex[:8]}-prompts"
        return prompts_write(prompts=list(prompts), path=training_dir("uploads") / f"{stem}.jsonl")
    return save_upload(data["file"], stem=f"{data['name']}-prompts")


def _start_page(request: HttpRequest, form, start, title: str, kind: str) -> HttpResponse:
    """Answer a job's start page: a valid POST runs ``start(cleaned_data)`` and shows the job's
    run page (a ValidationError goes on the form, by field); otherwise the form (again)."""
    if request.method == "POST" and form.is_valid():
        try:
            job = start(form.cleaned_data)
        except ValidationError as error:
            _form_error(form, error)
        else:
            return redirect("training:run", job_id=job.pk)
    context = {"form": form, "title": title, "kind": kind, "multipart": form.is_multipart()}
    return render(request, "training/start.html", context)


@role_required(RESEARCHER)
@require_GET
@vary_on_headers("HX-Request")
def run_page(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """Researchers: a training job's progress, live metrics and log, and what it made."""
    job = get_object_or_404(Job.objects.filter(kind__startswith="training."), pk=job_id)
    log = RunLog.objects.filter(job=job).first()
    metrics = log.metrics if log else []
    series_keys = [k for k in ("reward", "distance", "loss") if any(k in m for m in metrics)]
    context = {
        "job": job,
        "title": JOB_TYPES[job.kind].title if job.kind in JOB_TYPES else job.kind,
        "lines": log.lines[-30:] if log else [],
        "last": metrics[-1] if metrics else None,
        "chart": {
            "type": "line",
            "labels": [m.get("step") for m in metrics],
            "series": [
                {"label": key, "values": [m.get(key) for m in metrics]} for key in series_keys
            ],
            "x": "step",
        },
        "artifact": ModelArtifact.objects.filter(job=job).first(),
    }
    template = "training/run.html#live" if request.htmx else "training/run.html"
    return render(request, template, context)


@role_required(RESEARCHER)
@require_http_methods(["GET", "POST"])
def dpo_page(request: HttpRequest) -> HttpResponse:
    """Researchers: export DPO pairs from a deliberation's moral graph as a job."""
    form = DpoExportForm(request.POST or None)

    def start_job(data: dict) -> Job:
        return dpo_export_start(
            created_by=request.user,
            name=data["name"],
            deliberation=data["deliberation"],
            policy=data["policy"].strip(),
            rule=data["rule"] or None,
            format=data["format"],
            max_new_tokens=data["max_new_tokens"],
            idempotency_key=job_key("training.dpo", token=data["key"]),
        )

    title = "Export DPO pairs from the moral graph"
    return _start_page(request, form, start_job, title, "dpo")


@role_required(RESEARCHER)
@require_GET
def dpo_download(request: HttpRequest, job_id: uuid.UUID) -> FileResponse:
    """Researchers: the JSONL a finished DPO export job wrote."""
    job = get_object_or_404(Job, pk=job_id, kind="training.export_dpo", status=Job.Status.SUCCEEDED)
    path = Path(job.result.get("out", ""))
    if not path.is_file():
        raise Http404("The file is gone.")
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)
