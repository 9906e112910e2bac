"""Forms of elicitation's researcher pages."""

from django import forms


class DeliberationForm(forms.Form):
    """A new deliberation: its name (used in addresses), title and welcome text."""

    name = forms.SlugField(max_length=64, help_text="Letters, digits and dashes; used in URLs.")
    title = forms.CharField(max_length=200)
    welcome_text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="Shown first."
    )


class ScenarioForm(forms.Form):
    """A scenario of a deliberation: the question, and optionally the first message."""

    question = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    seed_message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=4000,
        help_text="Optional: the interview's first message.",
    )


class ContextForm(forms.Form):
    """A moral context typed in by a researcher."""

    text = forms.CharField(max_length=300, label="Context", help_text='e.g. "When in distress"')
