"""The adverse-event report, declared once: its codelists, its fields and its cross-field checks.

Everything else reads this module rather than naming the fields again:
- the model (trials/safety/models/events.py) takes its labels and the seriousness criteria from here;
- the service (trials/safety/services/events.py) accepts the entered fields, carries them over in a follow-up as
  each field's `follow_up` says, and validates with `check_report` / `check_follow_up`;
- the API's input serializers (trials/safety/api/serializers.py) and the web page's ModelForm are built from the
  entered fields (types and lengths from the model, required-ness and help from here);
- the extract's adverse_events table and the trial report's AE frame take the fields that declare `export` /
  `in_trial_report`.

Rules (CTCAE v5.0, ICH E2A):
- the term is a CTCAE term of the stored version; a grade the term does not have is refused; "Other, specify"
  terms need the specify text;
- grade 5 <=> outcome fatal <=> seriousness criterion "results in death", with a death date;
- serious when any of the six criteria holds; a serious event needs the site's awareness time, which starts
  the 24-hour clock;
- dates: onset not before birth or the trial consent, not in the future; resolution and death not before
  onset, not in the future; awareness not before the onset date, not in the future.

No model is imported here (the models import this module); refusals are ApplicationError with code "invalid" and
the field named, as the API and the page show them next to the field.
"""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registry.errors import ApplicationError
from trials.safety import ctcae

if TYPE_CHECKING:
    from trials.safety.models import AdverseEventVersion


class Relatedness(models.TextChoices):
    """Causality to the study radiopharmaceutical (five levels)."""

    UNRELATED = "unrelated", gettext_lazy("Unrelated")
    UNLIKELY = "unlikely", gettext_lazy("Unlikely")
    POSSIBLE = "possible", gettext_lazy("Possible")
    PROBABLE = "probable", gettext_lazy("Probable")
    DEFINITE = "definite", gettext_lazy("Definite")


class Expectedness(models.TextChoices):
    EXPECTED = "expected", gettext_lazy("Expected (listed in the reference safety information)")
    UNEXPECTED = "unexpected", gettext_lazy("Unexpected")


class ActionTaken(models.TextChoices):
    """Action taken with the study drug (CDISC AEACN terms)."""

    NOT_CHANGED = "dose_not_changed", gettext_lazy("Dose not changed")
    REDUCED = "dose_reduced", gettext_lazy("Dose reduced")
    INTERRUPTED = "drug_interrupted", gettext_lazy("Drug interrupted")
    WITHDRAWN = "drug_withdrawn", gettext_lazy("Drug withdrawn")
    NOT_APPLICABLE = "not_applicable", gettext_lazy("Not applicable (e.g. single administration already given)")
    UNKNOWN = "unknown", gettext_lazy("Unknown")


class Outcome(models.TextChoices):
    """Outcome of the event (CDISC AEOUT terms)."""

    RECOVERED = "recovered", gettext_lazy("Recovered/resolved")
    RECOVERING = "recovering", gettext_lazy("Recovering/resolving")
    NOT_RECOVERED = "not_recovered", gettext_lazy("Not recovered/not resolved")
    SEQUELAE = "recovered_with_sequelae", gettext_lazy("Recovered/resolved with sequelae")
    FATAL = "fatal", gettext_lazy("Fatal")
    UNKNOWN = "unknown", gettext_lazy("Unknown")


# "At least possibly related", the causality half of a SUSAR.
RELATED = frozenset({Relatedness.POSSIBLE, Relatedness.PROBABLE, Relatedness.DEFINITE})
RESOLVED = frozenset({Outcome.RECOVERED, Outcome.SEQUELAE})


class FollowUp(Enum):
    """What a follow-up report does with a field it does not send. Every change to a signed event needs a reason
    (the signature is voided): that holds for all fields alike, so it is the service's rule, not a field's."""

    CARRIED = "carried over from the previous report"
    FIXED_ONCE_SERIOUS = "carried over; may not change once the event is serious (it started the 24-hour clock)"
    CLEARED_WITH_TERM = "carried over unless the term changes, then cleared (a specify text belongs to its term)"


@dataclass(frozen=True)
class Export:
    """A column of the extract's adverse_events table. The table's layout is fixed (analysts read it, tests compare it
    byte-for-byte), so each column says where it goes; the event's own columns (trial, subject, number, SUSAR) are
    placed around these by reports/exports/definitions.py."""

    column: str
    description: str
    position: int


@dataclass(frozen=True)
class ReportField:
    """One field of the report (a field of AdverseEventVersion, whose type and length the model says)."""

    name: str
    label: Promise
    entered: bool = True  # False: derived by the checks (term and SOC from the code, seriousness from the criteria)
    required: bool = False  # in the initial report; a follow-up sends only what changes
    criterion: bool = False  # one of the six ICH E2A seriousness criteria
    follow_up: FollowUp = FollowUp.CARRIED
    choices: type[models.TextChoices] | None = None
    api_help: str = ""
    export: Export | None = None
    in_trial_report: bool = False


def _criterion(name: str, label: Promise) -> ReportField:
    return ReportField(name, label, criterion=True)


# In the order of the form (and of the API's version shape).
FIELDS: tuple[ReportField, ...] = (
    ReportField("meddra_code", gettext_lazy("MedDRA code"), required=True,
                api_help="The CTCAE term's MedDRA code (see /safety/ctcae-terms/).",
                export=Export("meddra_code", "MedDRA code.", 3)),
    ReportField("term", gettext_lazy("CTCAE term"), entered=False, export=Export("term", "CTCAE term.", 2), in_trial_report=True),
    ReportField("soc", gettext_lazy("system organ class"), entered=False, export=Export("soc", "CTCAE system organ class.", 1),
                in_trial_report=True),
    ReportField("other_specify", gettext_lazy("specify (for an \"Other, specify\" term)"), follow_up=FollowUp.CLEARED_WITH_TERM),
    ReportField("onset_date", gettext_lazy("onset date"), required=True, export=Export("onset_date", "Onset date.", 5),
                in_trial_report=True),
    ReportField("resolution_date", gettext_lazy("resolution date"), export=Export("resolution_date", "Resolution date.", 6)),
    ReportField("grade", gettext_lazy("CTCAE grade"), required=True, export=Export("grade", "CTCAE grade.", 4), in_trial_report=True),
    _criterion("serious_death", gettext_lazy("Results in death")),
    _criterion("serious_life_threatening", gettext_lazy("Is life-threatening")),
    _criterion("serious_hospitalisation", gettext_lazy("Requires or prolongs hospitalisation")),
    _criterion("serious_disability", gettext_lazy("Results in persistent or significant disability/incapacity")),
    _criterion("serious_congenital_anomaly", gettext_lazy("Is a congenital anomaly/birth defect")),
    _criterion("serious_other_important", gettext_lazy("Is another important medical event")),
    ReportField("is_serious", gettext_lazy("serious"), entered=False, export=Export("serious", "Serious adverse event.", 7)),
    ReportField("relatedness", gettext_lazy("relatedness (investigator)"), required=True, choices=Relatedness,
                export=Export("relatedness", "Relatedness (investigator).", 8), in_trial_report=True),
    ReportField("expectedness", gettext_lazy("expectedness (investigator)"), required=True, choices=Expectedness,
                export=Export("expectedness", "Expectedness (investigator).", 9)),
    ReportField("action_taken", gettext_lazy("action taken"), required=True, choices=ActionTaken),
    ReportField("outcome", gettext_lazy("outcome"), required=True, choices=Outcome, export=Export("outcome", "Outcome.", 10)),
    ReportField("death_date", gettext_lazy("date of death")),
    ReportField("site_awareness_at", gettext_lazy("site awareness of seriousness"), follow_up=FollowUp.FIXED_ONCE_SERIOUS,
                api_help="Required for a serious event: starts the 24-hour clock."),
)
BY_NAME: dict[str, ReportField] = {field.name: field for field in FIELDS}
ENTERED: tuple[ReportField, ...] = tuple(field for field in FIELDS if field.entered)
ENTERED_NAMES: frozenset[str] = frozenset(field.name for field in ENTERED)
REQUIRED: tuple[str, ...] = tuple(field.name for field in ENTERED if field.required)
# The six ICH E2A seriousness criteria, as (field name, label).
SERIOUSNESS_CRITERIA: tuple[tuple[str, Promise], ...] = tuple((field.name, field.label) for field in FIELDS if field.criterion)
# The extract's columns from the report, as (field name, column), in the extract's order.
EXPORTED: tuple[tuple[str, Export], ...] = tuple(sorted(((field.name, field.export) for field in FIELDS if field.export is not None),
                                                        key=lambda pair: pair[1].position))
IN_TRIAL_REPORT: tuple[str, ...] = tuple(field.name for field in FIELDS if field.in_trial_report)


def label(name: str) -> Promise:
    return BY_NAME[name].label


@dataclass(frozen=True)
class Facts:
    """What the checks need besides the report: the subject's dates and the clock."""

    birth_date: date
    consent_date: date
    today: date
    now: datetime


def _refuse(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid", fields={field: [message]})


def _required(report: "AdverseEventVersion", facts: Facts) -> None:
    missing = [name for name in REQUIRED if getattr(report, name) in (None, "")]
    if missing:
        raise ApplicationError(_("Required: %(fields)s.") % {"fields": ", ".join(missing)}, code="invalid",
                               fields={name: [_("This field is required.")] for name in missing})


def _term(report: "AdverseEventVersion", facts: Facts) -> None:
    """Sets the derived term and SOC from the code; the specify text only with (and always with) an "Other" term."""
    term = ctcae.term_for(report.meddra_code, report.ctcae_version)
    report.term, report.soc = term.term, term.soc
    report.other_specify = (report.other_specify or "").strip()
    if term.needs_specify and not report.other_specify:
        raise _refuse("other_specify", _("\"%(term)s\" needs the event named in the specify text.") % {"term": term.term})
    if not term.needs_specify and report.other_specify:
        raise _refuse("other_specify", _("Only an \"Other, specify\" term takes a specify text."))
    ctcae.check_grade(term, report.grade)


def _dates(report: "AdverseEventVersion", facts: Facts) -> None:
    onset = report.onset_date
    if onset > facts.today:
        raise _refuse("onset_date", _("The onset date is in the future."))
    if onset < facts.birth_date:
        raise _refuse("onset_date", _("The onset date is before the date of birth."))
    if onset < facts.consent_date:
        raise _refuse("onset_date", _("The onset date is before the trial consent was signed (AEs are collected from consent)."))
    if report.resolution_date is not None:
        if report.resolution_date < onset:
            raise _refuse("resolution_date", _("The resolution date is before the onset date."))
        if report.resolution_date > facts.today:
            raise _refuse("resolution_date", _("The resolution date is in the future."))


def _outcome(report: "AdverseEventVersion", facts: Facts) -> None:
    """Grade 5, a fatal outcome and "results in death" go together, with the death date; resolved events end."""
    fatal = report.outcome == Outcome.FATAL
    if report.grade == 5 and not fatal:
        raise _refuse("outcome", _("Grade 5 (death related to the AE) requires the outcome \"fatal\"."))
    if fatal and report.grade != 5:
        raise _refuse("grade", _("A fatal outcome is grade 5 in CTCAE."))
    if fatal != report.serious_death:
        raise _refuse("serious_death", _("The criterion \"results in death\" goes with a fatal outcome, and only with it."))
    if fatal:
        if report.death_date is None:
            raise _refuse("death_date", _("A grade 5 event requires the date of death."))
        if report.death_date < report.onset_date:
            raise _refuse("death_date", _("The date of death is before the onset date."))
        if report.death_date > facts.today:
            raise _refuse("death_date", _("The date of death is in the future."))
        if report.resolution_date not in (None, report.death_date):
            raise _refuse("resolution_date", _("A fatal event ends on the date of death."))
    elif report.death_date is not None:
        raise _refuse("death_date", _("A date of death goes only with a fatal outcome."))
    elif report.outcome in RESOLVED and report.resolution_date is None:
        raise _refuse("resolution_date", _("A resolved event needs its resolution date."))
    elif report.outcome not in RESOLVED and report.resolution_date is not None:
        raise _refuse("outcome", _("An event with a resolution date is resolved (with or without sequelae)."))


def _seriousness(report: "AdverseEventVersion", facts: Facts) -> None:
    """Sets the derived seriousness from the criteria; a serious event needs the site's awareness time."""
    report.is_serious = any(getattr(report, name) for name, _label in SERIOUSNESS_CRITERIA)
    if report.is_serious:
        aware = report.site_awareness_at
        if aware is None:
            raise _refuse("site_awareness_at", _("A serious event needs the date and time the site became aware of it."))
        if aware > facts.now:
            raise _refuse("site_awareness_at", _("The awareness time is in the future."))
        if timezone.localdate(aware) < report.onset_date:
            raise _refuse("site_awareness_at", _("The site cannot have been aware before the onset date."))
    elif report.site_awareness_at is not None:
        raise _refuse("site_awareness_at", _("An awareness time is recorded for serious events only."))


# In order: the first broken rule is the one refused.
CHECKS: tuple[Callable[["AdverseEventVersion", Facts], None], ...] = (_required, _term, _dates, _outcome, _seriousness)


def check_report(report: "AdverseEventVersion", facts: Facts) -> None:
    """Every rule a report (initial or follow-up) must satisfy; fills the derived fields (term, SOC, seriousness)."""
    for check in CHECKS:
        check(report, facts)


def check_follow_up(previous: "AdverseEventVersion", report: "AdverseEventVersion") -> None:
    """What a follow-up may not undo: seriousness (its clocks have run) and the fields fixed once serious."""
    if not previous.is_serious:
        return
    if not report.is_serious:
        raise _refuse("serious_other_important", _("An event reported serious stays serious: its reporting clocks have run."))
    for field in FIELDS:
        if field.follow_up is FollowUp.FIXED_ONCE_SERIOUS and getattr(report, field.name) != getattr(previous, field.name):
            raise _refuse(field.name, _("The site's awareness time is fixed once reported: it started the 24-hour clock."))


def carried_over(previous: "AdverseEventVersion", changes: dict[str, object]) -> dict[str, object]:
    """A follow-up's full set of entered values: the previous report's, with `changes` applied."""
    values: dict[str, object] = {name: getattr(previous, name) for name in ENTERED_NAMES}
    term_changed = changes.get("meddra_code") not in (None, previous.meddra_code)
    for field in ENTERED:
        if field.follow_up is FollowUp.CLEARED_WITH_TERM and term_changed:
            values[field.name] = ""
    return {**values, **changes}
