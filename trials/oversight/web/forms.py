"""Forms of the signature and data-query actions (used on the oversight pages and on the adverse-event page). They
only collect input: every rule is the oversight services' (their refusals are shown next to these fields by
`add_application_error`)."""
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from registry.web.forms import BootstrapForm
from trials.oversight.models import Signature


class SignForm(BootstrapForm):
    meaning = forms.ChoiceField(label=_("Meaning of the signature"), choices=Signature.Meaning.choices, widget=forms.HiddenInput)
    password = forms.CharField(label=_("Your password"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
                               strip=False, required=False)


class QueryRaiseForm(BootstrapForm):
    field_name = forms.ChoiceField(label=_("Field queried"), choices=[])
    text = forms.CharField(label=_("Question"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, field_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["field_name"].choices = field_choices


class QueryReplyForm(BootstrapForm):
    text = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
