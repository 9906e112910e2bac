"""Forms of the researcher pages: add a subject, import a pool, start a run."""

from django import forms

from annotation.models import Project
from evaluation.models import ItemPool, Subject
from training.models import ModelArtifact, Target


class SubjectForm(forms.Form):
    name = forms.CharField(max_length=200, required=False)
    kind = forms.ChoiceField(choices=Subject.Kind.choices)
    endpoint = forms.CharField(
        max_length=500,
        required=False,
        help_text="OpenAI-compatible base URL (…/v1); empty: the LLM ValueLab is configured with.",
    )
    model = forms.CharField(max_length=200, required=False)
    api_key_env = forms.CharField(
        max_length=100, required=False, label="Key variable", help_text="Environment variable."
    )
    policy = forms.ModelChoiceField(
        queryset=ModelArtifact.objects.filter(kind=ModelArtifact.Kind.POLICY),
        required=False,
        help_text="An aligned policy: adds it and the policy it started from (before/after).",
    )
    temperature = forms.FloatField(min_value=0, max_value=2, initial=0.0)
    max_tokens = forms.IntegerField(min_value=1, max_value=8192, initial=256)
    concurrency = forms.IntegerField(
        min_value=1,
        max_value=256,
        required=False,
        label="Requests at once",
        help_text="How many requests the endpoint serves at once; empty: VALUELAB_LLM_CONCURRENCY.",
    )


class PoolForm(forms.Form):
    name = forms.CharField(max_length=200, required=False, help_text="Empty: the file's name.")
    file = forms.FileField(
        help_text='JSONL of {"prompt", "id"?, "value"?} or CSV with a prompt column.'
    )
    skip_invalid = forms.BooleanField(required=False, label="Skip unreadable lines")


class ProjectPoolForm(forms.Form):
    project = forms.ModelChoiceField(
        queryset=Project.objects.order_by("name"),
        help_text="Its items' distinct prompts (not training items or attention checks).",
    )
    name = forms.CharField(max_length=200, required=False, help_text="Empty: the project's slug.")


class RunForm(forms.Form):
    subjects = forms.ModelMultipleChoiceField(queryset=Subject.objects.all())
    pool = forms.ModelChoiceField(queryset=ItemPool.objects.all())
    evaluator = forms.ModelChoiceField(
        queryset=ModelArtifact.objects.filter(kind=ModelArtifact.Kind.EVALUATOR)
    )
    max_calls = forms.IntegerField(
        min_value=1, required=False, label="Cost cap", help_text="LLM calls at most per run."
    )


class TargetChoiceForm(forms.Form):
    target = forms.ModelChoiceField(queryset=Target.objects.all(), required=False)


class EvolveForm(forms.Form):
    pool = forms.ModelChoiceField(queryset=ItemPool.objects.all(), help_text="Seeds come from it.")
    subjects = forms.ModelMultipleChoiceField(
        queryset=Subject.objects.all(), help_text="At least two: the items go where they differ."
    )
    evaluator = forms.ModelChoiceField(
        queryset=ModelArtifact.objects.filter(kind=ModelArtifact.Kind.EVALUATOR)
    )
    value = forms.CharField(
        max_length=64, required=False, help_text="The value to aim at (key); empty: every value."
    )
    rounds = forms.IntegerField(min_value=1, max_value=10, initial=3)
    keep = forms.IntegerField(min_value=1, max_value=50, initial=3, label="Keep per round")
    max_calls = forms.IntegerField(min_value=3, initial=200, label="Cost cap (LLM calls)")
