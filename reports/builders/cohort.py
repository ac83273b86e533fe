"""The registry cohort report as of a date, from a handful of aggregate queries and pandas.

Patients: those of the requested hospitals that the requester may report on, diagnosed by `as_of`, without a
withdrawal of data use by `as_of` (`patients_for_research`). Follow-up after `as_of` is ignored, so a report
as of a past date shows what was known then (as far as the data are dated).
"""
from datetime import date
from typing import Any

import pandas as pd
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Min, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from registry import codelists as cl
from registry.access import Rule
from registry.errors import ApplicationError
from registry.models import FollowUpVisit, Hospital, User
from registry.selectors import EFS_EVENT_STATUSES, patients_for_research
from reports.builders.common import AGE_BAND_LABELS, age_band, category_counts, codes, quantiles
from reports.builders.consent import STATE_COLUMNS, annotate_consent_inputs, consent_frame
from reports.document import Figure, Progress, Report
from reports.kinds import ReportKind, register_report_kind
from reports.params import as_of_date, parse_date, refuse_unknown

PARAMS = {"as_of", "hospitals", "diagnosis_from", "diagnosis_to"}


def authorise(user: User, params: dict[str, Any]) -> dict[str, Any]:
    """Hospitals default to every hospital the requester may report on; naming another one is a bad parameter."""
    refuse_unknown(params, PARAMS)
    allowed = _reportable_hospitals(user)
    requested = params.get("hospitals") or sorted(allowed)
    if not isinstance(requested, list) or not all(isinstance(c, str) for c in requested):
        raise ApplicationError(_("hospitals must be a list of hospital codes."), code="invalid_parameter",
                               fields={"hospitals": [_("A list of hospital codes.")]})
    outside = sorted(set(requested) - allowed)
    if outside:
        raise ApplicationError(_("The report names hospitals you cannot report on."), code="invalid_parameter",
                               fields={"hospitals": [_("Not a hospital you may report on: %(code)s.") % {"code": c} for c in outside]})
    as_of = as_of_date(params)
    dx_from, dx_to = parse_date(params, "diagnosis_from"), parse_date(params, "diagnosis_to")
    if dx_from and dx_to and dx_from > dx_to:
        raise ApplicationError(_("diagnosis_from is after diagnosis_to."), code="invalid_parameter",
                               fields={"diagnosis_from": [_("After diagnosis_to.")]})
    return {"as_of": as_of.isoformat(), "hospitals": sorted(set(requested)),
            "diagnosis_from": dx_from.isoformat() if dx_from else None, "diagnosis_to": dx_to.isoformat() if dx_to else None}


def permit(user: User, params: dict[str, Any]) -> None:
    if set(params["hospitals"]) - _reportable_hospitals(user):
        raise PermissionDenied(_("The report names hospitals you cannot report on."))


def _reportable_hospitals(user: User) -> set[str]:
    """The one rule, at request and at execution: the codes of the hospitals the user may report on (Rule.REPORT_SITE:
    data managers over theirs, or all; site investigators and coordinators over their own)."""
    allowed = set(Hospital.objects.restrict(user, Rule.REPORT_SITE).values_list("code", flat=True))
    if not allowed:
        raise PermissionDenied(_("Cohort reports are for data managers, investigators and coordinators."))
    return allowed


PATIENT_COLUMNS = ["pk", "hospital__code", "hospital__province", "diagnosis_date", "age_at_diagnosis_months", "inrgss_stage",
                   "inrg_risk", "cog_risk", "mycn", "death_date", "last_contact_date", "contact_withdrawn_on", "is_adult", "is_followed"]


def cohort_patients(user: User, params: dict[str, Any]):  # type: ignore[no-untyped-def]
    as_of = date.fromisoformat(params["as_of"])
    qs = patients_for_research(user=user, on=as_of).filter(hospital__code__in=params["hospitals"], diagnosis_date__lte=as_of)
    if params.get("diagnosis_from"):
        qs = qs.filter(diagnosis_date__gte=params["diagnosis_from"])
    if params.get("diagnosis_to"):
        qs = qs.filter(diagnosis_date__lte=params["diagnosis_to"])
    return qs


def patient_frame(qs, as_of: date) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    # The consent state comes from one plain query of consent records derived in pandas (reports/builders/consent.py):
    # the per-patient correlated subqueries of registry.consent_rules.annotate_consent took 3-4 s at 100,000 patients.
    rows = list(annotate_consent_inputs(qs, on=as_of).order_by("pk").values_list(*PATIENT_COLUMNS))
    frame = pd.DataFrame(rows, columns=PATIENT_COLUMNS)
    frame[STATE_COLUMNS] = consent_frame(qs, frame, on=as_of)[STATE_COLUMNS].to_numpy()
    frame = frame.drop(columns=["is_adult", "is_followed"])
    frame = frame.rename(columns={"hospital__code": "hospital", "hospital__province": "province"})
    frame["age_band"] = age_band(frame["age_at_diagnosis_months"]) if len(frame) else pd.Series(dtype=str)
    frame["diagnosis_year"] = frame["diagnosis_date"].map(lambda d: str(d.year))
    return frame


def outcome_frame(patients: pd.DataFrame, visit_events: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """OS (death) and EFS (relapse, progression or death) from diagnosis, censored at last contact known by `as_of`."""
    frame = patients.merge(visit_events, on="pk", how="left")
    out = pd.DataFrame({"pk": frame["pk"], "inrg_risk": frame["inrg_risk"]})
    dx = pd.to_datetime(frame["diagnosis_date"])
    cutoff = pd.Timestamp(as_of)

    def known(column: str) -> pd.Series:
        values = pd.to_datetime(frame[column])
        return values.where(values <= cutoff)

    death = known("death_date")
    contact = pd.to_datetime(frame["last_contact_date"]).fillna(dx).clip(upper=cutoff)
    contact = contact.where(contact >= dx, dx)
    os_end = death.fillna(contact)
    event = pd.concat([known("first_event"), known("first_event_visit"), death], axis=1).min(axis=1)
    out["os_days"] = (os_end - dx).dt.days
    out["os_event"] = death.notna()
    out["efs_days"] = (event.fillna(os_end) - dx).dt.days
    out["efs_event"] = event.notna()
    return out


def _consent_states(frame: pd.DataFrame, as_of: date) -> pd.DataFrame:
    state = pd.Series("consented", index=frame.index)
    state[frame["adult_consent_due"].astype(bool)] = "adult_consent_due"
    state[frame["reconsent_due"].astype(bool)] = "reconsent_due"
    state[~frame["has_registry_consent"].astype(bool)] = "no_valid_consent"
    withdrawn = pd.to_datetime(frame["contact_withdrawn_on"]) <= pd.Timestamp(as_of)
    table = pd.DataFrame({"consent_state": state, "contact_withdrawn": withdrawn})
    order = ["consented", "reconsent_due", "adult_consent_due", "no_valid_consent"]
    rows = [{"consent_state": s, "contact_withdrawn": w, "patients": int(((table.consent_state == s) & (table.contact_withdrawn == w)).sum())}
            for s in order for w in (False, True)]
    return pd.DataFrame(rows, columns=["consent_state", "contact_withdrawn", "patients"])


def _visit_summary(qs, as_of: date) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """One scan of the cohort's visits, per patient: follow-up completeness counts and the first EFS event.

    Due: scheduled visits whose window closed by `as_of` (cancelled ones are not due).
    """
    status = FollowUpVisit.Status
    due = Q(target_date__isnull=False, window_end__lte=as_of) & ~Q(status=status.CANCELLED)
    in_window = Q(status=status.DONE, visit_date__gte=F("window_start"), visit_date__lte=F("window_end"))
    columns = ["pk", "due", "done_in_window", "done_outside_window", "missed", "first_event", "first_event_visit"]
    rows = (FollowUpVisit.objects.filter(patient__in=qs.values("pk")).values("patient_id")
            .annotate(due=Count("pk", filter=due), done_in_window=Count("pk", filter=due & in_window),
                      done_outside_window=Count("pk", filter=due & Q(status=status.DONE, visit_date__lte=as_of) & ~in_window),
                      missed=Count("pk", filter=due & Q(status=status.MISSED)),
                      first_event=Min("event_date", filter=Q(status=status.DONE, event_date__lte=as_of)),
                      first_event_visit=Min("visit_date", filter=Q(disease_status__in=EFS_EVENT_STATUSES, visit_date__lte=as_of)))
            .order_by("patient_id").values_list("patient_id", *columns[1:]))
    return pd.DataFrame(list(rows), columns=columns)


def _follow_up(visits: pd.DataFrame, patients: pd.DataFrame, hospitals: list[str]) -> pd.DataFrame:
    counts = ["due", "done_in_window", "done_outside_window", "missed"]
    sums = visits.merge(patients[["pk", "hospital"]], on="pk").groupby("hospital")[counts].sum()
    table = []
    for code in hospitals:
        r = sums.loc[code] if code in sums.index else dict.fromkeys(counts, 0)
        due = int(r["due"])
        table.append({"hospital": code, "visits_due": due, "done_in_window": int(r["done_in_window"]),
                      "done_outside_window": int(r["done_outside_window"]), "missed": int(r["missed"]),
                      "completeness_percent": 100.0 * int(r["done_in_window"]) / due if due else None})
    return pd.DataFrame(table, columns=["hospital", "visits_due", "done_in_window", "done_outside_window", "missed",
                                        "completeness_percent"])


def _imaging_volume(qs, as_of: date) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    from django.db.models.functions import ExtractYear

    from imaging.models import ImagingStudy

    rows = (ImagingStudy.objects.filter(patient__in=qs.values("pk"), study_date__lte=as_of)
            .annotate(year=ExtractYear("study_date")).values("year", "tracer", "patient__hospital__code")
            .annotate(studies=Count("pk")).order_by("year", "tracer", "patient__hospital__code"))
    return pd.DataFrame([{"year": r["year"], "tracer": r["tracer"] or "unknown", "hospital": r["patient__hospital__code"],
                          "studies": r["studies"]} for r in rows], columns=["year", "tracer", "hospital", "studies"])


def _doses(qs, as_of: date) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    from imaging.models.analysis import DoseResult

    rows = (DoseResult.objects.filter(study__patient__in=qs.values("pk"), study__study_date__lte=as_of)
            .order_by("study_id")
            .values_list("study__patient_id", "study__modality_group", "tracer", "total_msv", "complete"))
    return pd.DataFrame(list(rows), columns=["pk", "modality_group", "tracer", "total_msv", "complete"])


DOSE_UNAVAILABLE = gettext_noop("Not available: no effective dose has been computed for the imaging exams of these patients.")


def _dose_sections(report: Report, doses: pd.DataFrame, patients: pd.DataFrame) -> None:
    # matplotlib and lifelines cost ~0.6 s to import: loaded when a report is built, not at every start-up.
    from reports import plots

    with_dose = doses[doses["total_msv"].notna()]
    note = gettext_noop("Sum over the child's imaging exams with a computed effective dose (radiopharmaceutical + CT, of what "
                        "is available); age band at diagnosis. Trial therapy administrations are not included.")
    if with_dose.empty:
        note = DOSE_UNAVAILABLE
    per_child = with_dose.groupby("pk", sort=True)["total_msv"].sum().rename("cumulative_msv").reset_index()
    per_child = per_child.merge(patients[["pk", "age_band"]], on="pk", how="left")
    rows = [{"age_band": "all", "children": len(per_child), **quantiles(per_child["cumulative_msv"])}]
    for band in AGE_BAND_LABELS:
        subset = per_child[per_child["age_band"] == band]["cumulative_msv"]
        rows.append({"age_band": band, "children": len(subset), **quantiles(subset)})
    report.add("dose_per_child", "Cumulative effective dose per child (mSv)",
               pd.DataFrame(rows, columns=["age_band", "children", "median", "q1", "q3"]).rename(
                   columns={"median": "median_msv", "q1": "q1_msv", "q3": "q3_msv"}), note)
    exam_rows = []
    for (group, tracer), subset in doses.groupby(["modality_group", "tracer"], sort=True):
        values = subset["total_msv"].dropna()
        exam_rows.append({"modality_group": group or "unknown", "tracer": tracer or "unknown", "exams": len(subset),
                          "exams_with_dose": len(values), "complete": int(subset["complete"].sum()),
                          **{f"{k}_msv": v for k, v in quantiles(values).items()}})
    report.add("dose_per_exam_type", "Effective dose per exam type (mSv)",
               pd.DataFrame(exam_rows, columns=["modality_group", "tracer", "exams", "exams_with_dose", "complete",
                                                "median_msv", "q1_msv", "q3_msv"]),
               DOSE_UNAVAILABLE if with_dose.empty else gettext_noop("complete = both the radiopharmaceutical and the CT part are known."))
    if not per_child.empty:
        report.figures.append(Figure("dose_hist", "Cumulative effective dose per child",
                                           plots.histogram(per_child["cumulative_msv"].tolist(), xlabel="mSv",
                                                                         language=report.params.get("language", "en"))))


def build(user: User, params: dict[str, Any], progress: Progress) -> Report:
    # matplotlib and lifelines cost ~0.6 s to import: loaded when a report is built, not at every start-up.
    from reports import plots
    from reports.survival import km_tables

    as_of = date.fromisoformat(params["as_of"])
    report = Report("cohort", f"Registry cohort report as of {as_of.isoformat()}", params)
    report.notes.append(gettext_noop("De-identified aggregates. Patients who withdrew the use of their data by the reference "
                                     "date are excluded. Age bands at diagnosis: <12, 12-<18, 18-<60 and >=60 months."))
    qs = cohort_patients(user, params)
    patients = patient_frame(qs, as_of)
    progress(20)
    by_hospital = (patients.groupby(["hospital", "province"], sort=True).size().rename("patients").reset_index()
                   if len(patients) else pd.DataFrame(columns=["hospital", "province", "patients"]))
    report.add("patients_by_hospital", "Patients by hospital", by_hospital)
    report.add("patients_by_province", "Patients by province",
               category_counts(patients, "province", sorted(patients["province"].unique())))
    report.add("patients_by_diagnosis_year", "Patients by year of diagnosis",
               category_counts(patients, "diagnosis_year", sorted(patients["diagnosis_year"].unique())))
    report.add("patients_by_inrgss_stage", "Patients by INRGSS stage", category_counts(patients, "inrgss_stage", codes(cl.INRGSS)))
    report.add("patients_by_inrg_risk", "Patients by INRG risk group", category_counts(patients, "inrg_risk", codes(cl.INRG_RISK)))
    report.add("patients_by_cog_risk", "Patients by COG risk group",
               category_counts(patients, "cog_risk", [*codes(cl.COG_RISK), ""]), gettext_noop("Empty: COG risk group not recorded."))
    report.add("patients_by_mycn", "Patients by MYCN status", category_counts(patients, "mycn", codes(cl.MYCN)))
    report.add("patients_by_age_band", "Patients by age at diagnosis (months)", category_counts(patients, "age_band", AGE_BAND_LABELS))
    report.add("consent_states", "Registry consent on the reference date", _consent_states(patients, as_of),
               gettext_noop("contact_withdrawn: the family asked for no further contact (data collected so far are kept)."))
    progress(40)
    visits = _visit_summary(qs, as_of)
    report.add("follow_up_completeness", "Follow-up completeness per hospital", _follow_up(visits, patients, params["hospitals"]),
               gettext_noop("Due: scheduled visits whose window closed by the reference date (cancelled visits are not due)."))
    progress(55)
    outcomes = outcome_frame(patients, visits[["pk", "first_event", "first_event_visit"]], as_of)
    risks = tuple(codes(cl.INRG_RISK))
    points, summary, curves = km_tables(outcomes, groups=risks, group_column="inrg_risk")
    report.add("survival_summary", "Overall and event-free survival: patients, events, median", summary,
               gettext_noop("Kaplan-Meier (lifelines), months from diagnosis; groups are INRG risk groups."))
    report.add("survival_at_months", "Kaplan-Meier estimates with numbers at risk and 95% CI", points,
               gettext_noop("CI: exponential Greenwood. EFS events: relapse, progression or death; censored at last contact."))
    for endpoint in ("OS", "EFS"):
        if curves:
            report.figures.append(Figure(f"km_{endpoint.lower()}", f"Kaplan-Meier {endpoint} by INRG risk group",
                                               plots.km_plot(curves, endpoint, params.get("language", "en"))))
    progress(75)
    report.add("imaging_volume", "Imaging studies per year, tracer and hospital", _imaging_volume(qs, as_of))
    _dose_sections(report, _doses(qs, as_of), patients)
    progress(90)
    return report


COHORT = register_report_kind(ReportKind("cohort", gettext_lazy("Registry cohort report"), authorise, build, permit,
                                         offered_to=Rule.REPORT_SITE))
