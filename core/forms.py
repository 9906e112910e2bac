from django import forms

from core.models import Study
from core.study_tasks import TASK_TYPES, TaskType


def _prefix(kind: str) -> str:
    return "task-" + kind.replace(".", "_")


class StudyForm(forms.ModelForm):
    """A study and its tasks: for each installed task type, whether to include it, where in the
    order, and its settings chosen from what exists (projects, deliberations, questions)."""

    consent_text = forms.CharField(
        label="Consent text",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Shown on the consent task; the participant must agree to go on.",
    )

    class Meta:
        model = Study
        fields = ["title", "slug", "description", "completion_code"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].help_text = "The study's address; filled from the title."
        self.task_types: list[TaskType] = sorted(
            (t for t in TASK_TYPES.values() if t.is_installed()),
            key=lambda t: (t.default_order, t.kind),
        )
        for task_type in self.task_types:
            prefix = _prefix(task_type.kind)
            self.fields[f"{prefix}-on"] = forms.BooleanField(
                label=task_type.label, required=False, initial=task_type.kind == "consent"
            )
            self.fields[f"{prefix}-order"] = forms.IntegerField(
                label="Order",
                min_value=1,
                max_value=99,
                initial=task_type.default_order,
                required=False,
            )
            self.fields[f"{prefix}-title"] = forms.CharField(
                label="Title participants see",
                max_length=200,
                initial=task_type.label,
                required=False,
            )
            for key, field in (task_type.form_fields() if task_type.form_fields else {}).items():
                self.fields[f"{prefix}-{key}"] = field

    def task_rows(self) -> list[dict]:
        """Return, per task type, its bound fields (for the template)."""
        rows = []
        for task_type in self.task_types:
            prefix = _prefix(task_type.kind)
            names = [name for name in self.fields if name.startswith(f"{prefix}-")]
            rows.append(
                {
                    "kind": task_type.kind,
                    "on": self[f"{prefix}-on"],
                    "order": self[f"{prefix}-order"],
                    "title": self[f"{prefix}-title"],
                    "config": [
                        self[name]
                        for name in names
                        if name.rsplit("-", 1)[1] not in ("on", "order", "title")
                    ],
                }
            )
        return rows

    def task_specs(self) -> list[tuple[str, dict]]:
        """Return the chosen tasks in their order as (field prefix, spec) pairs."""
        chosen = []
        for task_type in self.task_types:
            prefix = _prefix(task_type.kind)
            if not self.cleaned_data.get(f"{prefix}-on"):
                continue
            config = {}
            for name, value in self.cleaned_data.items():
                key = name.removeprefix(f"{prefix}-")
                if name.startswith(f"{prefix}-") and key not in ("on", "order", "title"):
                    if value not in (None, ""):
                        config[key] = value
            spec = {
                "kind": task_type.kind,
                "title": self.cleaned_data.get(f"{prefix}-title") or task_type.label,
                "instructions": (
                    self.cleaned_data.get("consent_text", "") if task_type.kind == "consent" else ""
                ),
                "config": config,
            }
            order = self.cleaned_data.get(f"{prefix}-order") or task_type.default_order
            chosen.append((order, task_type.default_order, prefix, spec))
        chosen.sort(key=lambda row: row[:2])
        return [(prefix, spec) for _, _, prefix, spec in chosen]
