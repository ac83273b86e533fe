"""Forms of the adverse-event page's actions: the follow-up report, the sponsor's assessment and the report of a
reporting clock. They only collect input: every rule is the safety services' (their refusals are shown next to these
fields by `add_application_error`)."""
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.web.forms import BootstrapForm
from trials.safety.models import AdverseEventVersion
from trials.safety.models.events import Expectedness, Relatedness
from trials.web.forms import DATETIME, DATETIME_FORMATS, AdverseEventForm, datetime_to_the_second


def version_initial(version: AdverseEventVersion) -> dict[str, Any]:
    """The current report's values, as the follow-up form's starting point."""
    return {name: getattr(version, name) for name in AdverseEventForm._meta.fields}  # type: ignore[union-attr]


class AdverseEventFollowUpForm(AdverseEventForm):
    """The report form prefilled from the current version, plus the reason. The site's awareness time keeps its
    seconds so that an untouched time is not a change (the service refuses moving it once the event is serious)."""

    reason = forms.CharField(label=_("Reason for the follow-up"), required=False, max_length=500,
                             help_text=_("Required when the event is signed: the signature is then voided (audited)."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site_awareness_at"].widget = datetime_to_the_second()

    def changes(self) -> dict[str, Any]:
        """The fields whose value differs from the current version, as the service's `data`."""
        data = self.report_data()
        return {name: data[name] for name in self.changed_data if name != "reason"}


class SponsorAssessmentForm(BootstrapForm):
    """The sponsor's expectedness and causality (the model's choices); whether that is a SUSAR is the service's rule."""

    expectedness = forms.ChoiceField(label=_("Expectedness (sponsor)"), choices=[("", "---------"), *Expectedness.choices])
    causality = forms.ChoiceField(label=_("Causality (sponsor)"), choices=[("", "---------"), *Relatedness.choices])
    sponsor_awareness_at = forms.DateTimeField(
        label=_("Sponsor's awareness"), required=False, widget=DATETIME, input_formats=DATETIME_FORMATS,
        help_text=_("When the sponsor first knew of the SAE (day 0 of a SUSAR clock), Asia/Shanghai time. Leave empty to keep "
                    "the recorded time (when the site's report was recorded, otherwise now)."))
    reason = forms.CharField(label=_("Reason for the change"), required=False, max_length=500,
                             help_text=_("Required to change an earlier assessment (audited)."))


class ClockReportForm(BootstrapForm):
    """When the report was sent; empty means now."""

    reported_at = forms.DateTimeField(label=_("Reported at"), required=False, widget=DATETIME, input_formats=DATETIME_FORMATS,
                                      initial=timezone.now, help_text=_("Asia/Shanghai time; empty means now."))

    def __init__(self, *args: Any, clock_id: int, **kwargs: Any) -> None:
        # One form per open clock on the event page: the prefix keeps the fields' ids apart.
        super().__init__(*args, prefix=f"clock-{clock_id}", **kwargs)
