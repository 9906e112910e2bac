"""Forms of the moral graph's pages: what a field must look like; the services check ranges."""

from django import forms

WHOLE_NUMBER = {"required": "Enter a whole number.", "invalid": "Enter a whole number."}
NUMBER = {"required": "Enter a number.", "invalid": "Enter a number."}


class GraphSettingsForm(forms.Form):
    """The rule and voting policy of the deliberation page (saved by the services)."""

    rule = forms.CharField(required=False, strip=False)
    pairs_per_card = forms.IntegerField(error_messages=WHOLE_NUMBER)
    pair_weight_power = forms.FloatField(error_messages=NUMBER)
    own_value_pairs = forms.IntegerField(error_messages=WHOLE_NUMBER)
    votes_per_session = forms.IntegerField(error_messages=WHOLE_NUMBER)

    def policy_fields(self) -> dict:
        """Return the voting policy's fields, as ``voting_policy_set`` takes them."""
        return {name: self.cleaned_data[name] for name in self.fields if name != "rule"}


def positive_int(text: str | None) -> int | None:
    """Return ``text`` (a query or form value) as a whole number above 0, or None."""
    return int(text) if text and text.isdigit() and int(text) > 0 else None
