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
        if self.instance.pk:  # the Prolific link carries the slug: it stays once created
            self.fields["slug"].disabled = True
            self.fields["slug"].help_text = "The study's address; it does not change."
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

    @classmethod
    def initial_for(cls, study: Study) -> dict:
        """Return the form's initial values for ``study``'s tasks as they are stored (a task
        type missing from the study is unticked)."""
        initial: dict = {}
        for task_type in TASK_TYPES.values():
            initial[f"{_prefix(task_type.kind)}-on"] = False
        for number, task in enumerate(study.tasks.all(), start=1):
            prefix = _prefix(task.kind)
            initial[f"{prefix}-on"] = True
            initial[f"{prefix}-order"] = number
            initial[f"{prefix}-title"] = task.title
            for key, value in (task.config or {}).items():
                initial[f"{prefix}-{key}"] = value
            if task.kind == "consent":
                initial["consent_text"] = task.instructions
        return initial

    @staticmethod
    def page_can_show(study: Study) -> bool:
        """Whether the page can show every task of ``study`` (one task per type, each a type
        installed here); a study built otherwise through the API is edited through the API."""
        kinds = list(study.tasks.values_list("kind", flat=True))
        installed = {t.kind for t in TASK_TYPES.values() if t.is_installed()}
        return len(kinds) == len(set(kinds)) and set(kinds) <= installed

    def task_rows(self) -> list[dict]:
        """Return, per task type, its bound fields (for the template), in the order their order
        numbers say (as given or stored), so the page lists the tasks as participants take them."""
        rows = []
        for task_type in self.task_types:
            prefix = _prefix(task_type.kind)
            names = [name for name in self.fields if name.startswith(f"{prefix}-")]
            order = str(self[f"{prefix}-order"].value() or "").strip()
            rows.append(
                {
                    "sort": (
                        int(order) if order.isdigit() else task_type.default_order,
                        task_type.default_order,
                    ),
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
        rows.sort(key=lambda row: row["sort"])
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
