from django import forms

from core.models import Study
from core.study_tasks import task_type_choices


class StudyForm(forms.ModelForm):
    task_kinds = forms.MultipleChoiceField(
        label="Tasks",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What participants do, in this order.",
    )
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
        self.fields["task_kinds"].choices = task_type_choices()
