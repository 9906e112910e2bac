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
