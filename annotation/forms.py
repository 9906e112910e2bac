"""Forms of the annotation app's researcher pages."""

from django import forms

from annotation.models import Project


class ProjectForm(forms.ModelForm):
    """A new project: its name, address, scheme, overlap and whether the LLM pre-labels."""

    class Meta:
        model = Project
        fields = [
            "name",
            "slug",
            "scheme",
            "overlap",
            "prelabel",
            "study",
            "instructions",
            "text_format",
        ]
        labels = {"slug": "Short name (used in addresses and commands)"}
        widgets = {"instructions": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Left out of a form (or a script's POST), items are shown as plain text.
        self.fields["text_format"].required = False

    def clean_text_format(self) -> str:
        return self.cleaned_data.get("text_format") or Project.TextFormat.PLAIN
