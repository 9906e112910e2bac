"""Forms of the training pages: which model, which data, which target."""

import uuid

from django import forms

from training.alignment import DEFAULTS as ALIGN_DEFAULTS
from training.alignment import DISTANCES
from training.models import ModelArtifact, Target
from training.preferences import FORMATS


def _projects():
    from annotation.models import Project

    return Project.objects.select_related("scheme").order_by("-created")


class _OnceForm(forms.Form):
    # A one-time key: a double click or a retried POST starts one job, not two.
    key = forms.CharField(widget=forms.HiddenInput, initial=lambda: uuid.uuid4().hex)


class _DataSourceMixin(forms.Form):
    project = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="— or upload a file below —"
    )
    file = forms.FileField(required=False, help_text="JSONL")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = _projects()

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("project")) == bool(cleaned.get("file")):
            raise forms.ValidationError("Choose an annotation project or upload a file (one).")
        return cleaned


class EvaluatorTrainForm(_DataSourceMixin, _OnceForm):
    name = forms.SlugField(max_length=80, help_text="Letters, digits, - and _.")
    base_model = forms.CharField(
        max_length=500,
        initial="minilm",
        help_text="minilm (the shipped all-MiniLM-L6-v2), a local folder, or a hub name.",
    )
    epochs = forms.IntegerField(
        min_value=1,
        max_value=200,
        required=False,
        help_text="Empty: the design's default (60 for the head on a frozen encoder, 4 when "
        "fine-tuning one pass, 2 value-conditioned).",
    )
    batch_size = forms.IntegerField(min_value=1, max_value=512, initial=16)
    max_steps = forms.IntegerField(
        min_value=1, required=False, help_text="Stop early (smoke runs)."
    )
    design = forms.ChoiceField(
        choices=[
            (
                "frozen-encoder",
                "Frozen encoder: the head alone learns all values at once (minutes on a CPU; "
                "the default, the best in bench_evaluator_sweep)",
            ),
            ("one-pass", "One pass, fine-tuned: the encoder learns too (hours on a CPU)"),
            ("value-conditioned", "Value-conditioned: one pass per value, reads its definition"),
        ],
        initial="frozen-encoder",
        required=False,
    )
    skip_invalid = forms.BooleanField(
        required=False,
        label="Skip bad lines",
        help_text="Train on the readable lines of the file; the run lists every line skipped.",
    )

    field_order = [
        "name",
        "base_model",
        "design",
        "project",
        "file",
        "skip_invalid",
        "epochs",
        "batch_size",
    ]


DISTANCE_NAMES = {"fulcra": "fulcra (the paper's masked reward)"}


class AlignForm(_DataSourceMixin, _OnceForm):
    name = forms.SlugField(max_length=80)
    evaluator = forms.ModelChoiceField(queryset=None)
    policy = forms.CharField(
        max_length=500,
        initial="smollm2-135m",
        help_text="The policy LLM: smollm2-135m (the shipped SmolLM2-135M-Instruct), a local "
        "folder, or a hub name.",
    )
    target = forms.ModelChoiceField(queryset=None)
    steps = forms.IntegerField(min_value=1, max_value=10_000, initial=ALIGN_DEFAULTS.steps)
    num_generations = forms.IntegerField(
        min_value=2, max_value=64, initial=ALIGN_DEFAULTS.num_generations
    )
    max_completion_length = forms.IntegerField(
        min_value=4, max_value=2048, initial=ALIGN_DEFAULTS.max_completion_length
    )
    learning_rate = forms.FloatField(
        min_value=1e-7, max_value=1e-2, initial=ALIGN_DEFAULTS.learning_rate, required=False
    )
    report_prompts = forms.IntegerField(
        min_value=1,
        max_value=1000,
        initial=ALIGN_DEFAULTS.report_prompts,
        help_text="Held-out prompts for the before/after report (at most half the prompts).",
    )
    distance = forms.ChoiceField(
        choices=[(d, DISTANCE_NAMES.get(d, d)) for d in DISTANCES],
        initial=ALIGN_DEFAULTS.distance,
    )
    guard = forms.ChoiceField(
        choices=[
            (
                "engaged",
                "Saying nothing or ignoring the prompt scores no better than the all-unrelated "
                "vector (default)",
            ),
            ("floor", "Saying nothing scores no better than the all-unrelated vector"),
            ("none", "No guard: the plain distance (reproduction only)"),
        ],
        initial=ALIGN_DEFAULTS.guard,
        required=False,
    )
    lora = forms.BooleanField(required=False, initial=True, label="LoRA (train adapters only)")

    field_order = ["name", "evaluator", "policy", "target", "project", "file", "steps"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evaluator"].queryset = ModelArtifact.objects.filter(
            kind=ModelArtifact.Kind.EVALUATOR
        )
        self.fields["target"].queryset = Target.objects.select_related("owner")
        self.fields["project"].help_text = "Its items' prompts (each once)."
        self.fields["file"].help_text = 'JSONL, {"prompt": "…"} a line.'


class ScoreProjectForm(_OnceForm):
    evaluator = forms.ModelChoiceField(queryset=None)
    project = forms.ModelChoiceField(queryset=None)
    replace = forms.BooleanField(
        required=False,
        label="Re-score items an evaluator labelled before (LLM pre-labels are kept)",
    )
    batch_size = forms.IntegerField(min_value=1, max_value=512, initial=32)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evaluator"].queryset = ModelArtifact.objects.filter(
            kind=ModelArtifact.Kind.EVALUATOR
        )
        self.fields["project"].queryset = _projects()


class DpoExportForm(_OnceForm):
    name = forms.SlugField(max_length=80, help_text="The file's name.")
    deliberation = forms.SlugField(max_length=64, help_text="The deliberation whose graph to use.")
    rule = forms.ChoiceField(
        choices=[
            ("", "the deliberation's rule"),
            ("majority", "majority"),
            ("dft-2023", "dft-2023"),
        ],
        required=False,
    )
    policy = forms.CharField(
        max_length=500,
        initial="smollm2-135m",
        help_text="The policy LLM that writes the answers: smollm2-135m (shipped), a folder or "
        "a hub name.",
    )
    format = forms.ChoiceField(choices=[(f, f) for f in FORMATS], initial="conversational")
    max_new_tokens = forms.IntegerField(min_value=4, max_value=2048, initial=128)
