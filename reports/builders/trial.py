"""The sponsor's trial report: accrual, CONSORT flow, baseline by arm, dosing compliance, safety, queries, image quality.

Subjects are known by their subject numbers only (never a registry study ID or identifier). Subjects whose
patient withdrew the use of their data by `as_of` are left out of every section, screening included.
In a blinded trial a subject's arm is shown only after an audited unblinding; the others are grouped as
"blinded", so the report never unblinds anyone.
"""
from datetime import date
from typing import Any

import pandas as pd
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from registry import codelists as cl
from registry.access import Action, Rule, reach
from registry.errors import ApplicationError
from registry.models import User
from reports.builders.common import AGE_BAND_LABELS, age_band, codes, quantiles
from reports.document import Figure, Progress, Report
from reports.kinds import ReportKind, register_report_kind
from reports.params import as_of_date, refuse_unknown
from trials.safety import ae_form

BLINDED = "blinded"


def authorise(user: User, params: dict[str, Any]) -> dict[str, Any]:
    """Sponsors of the trial and data managers of every hospital. A trial the user cannot see reads as not found."""

    refuse_unknown(params, {"trial", "as_of"})
    raw = params.get("trial")
    if isinstance(raw, bool) or not isinstance(raw, int | str) or raw == "":
        raise ApplicationError(_("trial is required: the trial's id or code."), code="invalid_parameter",
                               fields={"trial": [_("The trial's id or code.")]})
    trial = _reportable_trial(user, Q(pk=raw) if isinstance(raw, int) or str(raw).isdigit() else Q(code=raw))
    return {"trial": trial.pk, "trial_code": trial.code, "as_of": as_of_date(params).isoformat()}


def permit(user: User, params: dict[str, Any]) -> None:
    _reportable_trial(user, Q(pk=params["trial"]))


def _reportable_trial(user: User, lookup: Q):  # type: ignore[no-untyped-def]
    """The one rule, at request and at execution: a trial the user cannot see reads as not found."""
    from trials.models import Trial

    trial = Trial.objects.restrict(user, Action.VIEW).filter(lookup).first()
    if trial is None:
        raise Http404("No such trial.")
    if not reach(user, Rule.REPORT_TRIAL).covers(trial_id=trial.pk):
        raise PermissionDenied(_("Trial reports are for the trial's sponsors and data managers."))
    return trial


SUBJECT_COLUMNS = ["pk", "patient_id", "subject_number", "site__site_number", "arm__code", "unblinding", "status", "enrolled_at",
                   "patient__sex", "patient__birth_date", "patient__age_at_diagnosis_months", "patient__inrgss_stage",
                   "patient__inrg_risk", "patient__mycn"]


def usable(prefix: str, as_of: date) -> Q:
    return Q(**{f"{prefix}data_use_withdrawn_on__isnull": True}) | Q(**{f"{prefix}data_use_withdrawn_on__gt": as_of})


def subject_frame(trial, as_of: date) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    from trials.models import Subject

    rows = (Subject.objects.filter(trial=trial, enrolled_at__date__lte=as_of).filter(usable("patient__", as_of))
            .order_by("subject_number").values_list(*SUBJECT_COLUMNS))
    frame = pd.DataFrame(list(rows), columns=SUBJECT_COLUMNS).rename(columns={
        "site__site_number": "site", "patient__sex": "sex", "patient__inrgss_stage": "inrgss_stage",
        "patient__inrg_risk": "inrg_risk", "patient__mycn": "mycn"})
    hidden = trial.blinded & frame["unblinding"].isna()
    frame["arm"] = frame["arm__code"].fillna("not_randomised").where(~hidden, BLINDED)
    frame["enrolled_on"] = frame["enrolled_at"].map(timezone.localdate)
    frame["age_band"] = age_band(frame["patient__age_at_diagnosis_months"]) if len(frame) else pd.Series(dtype=str)
    frame["age_at_enrolment_months"] = [
        (e.year - b.year) * 12 + e.month - b.month - (1 if e.day < b.day else 0)
        for e, b in zip(frame["enrolled_on"], frame["patient__birth_date"], strict=True)]
    return frame


def arm_labels(trial, subjects: pd.DataFrame) -> list[str]:  # type: ignore[no-untyped-def]
    labels = [a.code for a in trial.arms.order_by("code")] if not trial.blinded else []
    return labels + sorted(set(subjects["arm"]) - set(labels))


def _accrual(report: Report, trial, subjects: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    # matplotlib and lifelines cost ~0.6 s to import: loaded when a report is built, not at every start-up.
    from reports import plots

    sites = list(trial.sites.order_by("site_number").values("site_number", "hospital__code", "activated_on", "target_accrual"))
    summary = []
    for s in sites:
        n = int((subjects["site"] == s["site_number"]).sum())
        summary.append({"site": s["site_number"], "hospital": s["hospital__code"], "activated_on": s["activated_on"],
                        "target": s["target_accrual"], "enrolled": n,
                        "percent_of_target": 100.0 * n / s["target_accrual"] if s["target_accrual"] else None})
    summary.append({"site": "all", "hospital": "", "activated_on": None, "target": trial.target_accrual, "enrolled": len(subjects),
                    "percent_of_target": 100.0 * len(subjects) / trial.target_accrual if trial.target_accrual else None})
    report.add("accrual_by_site", "Accrual per site against target", pd.DataFrame(summary))
    monthly = subjects.assign(month=subjects["enrolled_on"].map(lambda d: f"{d.year:04d}-{d.month:02d}"))
    by_month = monthly.groupby(["site", "month"], sort=True).size().rename("enrolled").reset_index()
    by_month["cumulative"] = by_month.groupby("site")["enrolled"].cumsum()
    report.add("accrual_by_month", "Enrolment per site and month", by_month[["site", "month", "enrolled", "cumulative"]]
               if len(by_month) else pd.DataFrame(columns=["site", "month", "enrolled", "cumulative"]))
    report.figures.append(Figure("accrual", "Cumulative accrual against target", plots.accrual_plot(by_month, trial.target_accrual,
                                                                                                          report.params.get("language", "en"))))


def _consort(report: Report, trial, subjects: pd.DataFrame, arms: list[str], as_of: date) -> None:  # type: ignore[no-untyped-def]
    from trials.models import ScreeningRecord

    screenings = list(ScreeningRecord.objects.filter(trial=trial, screened_on__lte=as_of).filter(usable("patient__", as_of))
                      .order_by("pk").values_list("patient_id", "outcome", "failed_criteria"))
    failures = [s for s in screenings if s[1] == ScreeningRecord.Outcome.SCREEN_FAILURE]
    rows = [("screened_patients", "", "", len({s[0] for s in screenings})), ("screenings", "", "", len(screenings)),
            ("screen_failures", "", "", len(failures))]
    by_criterion = pd.Series([c for s in failures for c in s[2]], dtype=str).value_counts()
    rows += [("screen_failure_by_criterion", "", label, int(by_criterion[label])) for label in sorted(by_criterion.index)]
    rows.append(("enrolled", "", "", len(subjects)))
    if trial.randomised:
        rows += [("randomised", arm, "", int((subjects["arm"] == arm).sum())) for arm in arms]
    for step, status in (("completed", "completed"), ("withdrawn", "withdrawn"), ("on_study", "enrolled")):
        rows += [(step, arm, "", int(((subjects["arm"] == arm) & (subjects["status"] == status)).sum())) for arm in arms]
    report.add("consort_flow", "CONSORT flow", pd.DataFrame(rows, columns=["step", "arm", "criterion", "count"]),
               gettext_noop("A failed screening may fail several criteria. Completed/withdrawn: the subjects' current status."))


def _baseline(report: Report, subjects: pd.DataFrame, arms: list[str]) -> None:
    rows = []
    variables = (("sex", codes(cl.SEX)), ("age_band_at_diagnosis", list(AGE_BAND_LABELS)), ("inrgss_stage", codes(cl.INRGSS)),
                 ("inrg_risk", codes(cl.INRG_RISK)), ("mycn", codes(cl.MYCN)))
    frame = subjects.rename(columns={"age_band": "age_band_at_diagnosis"})
    for arm in arms:
        in_arm = frame[frame["arm"] == arm]
        for variable, order in variables:
            for category in order:
                n = int((in_arm[variable] == category).sum())
                rows.append({"arm": arm, "variable": variable, "category": category, "subjects": n,
                             "percent": 100.0 * n / len(in_arm) if len(in_arm) else None})
    report.add("baseline_by_arm", "Demographics and baseline disease by arm",
               pd.DataFrame(rows, columns=["arm", "variable", "category", "subjects", "percent"]))
    ages = [{"arm": arm, "subjects": int((subjects["arm"] == arm).sum()),
             **{f"{k}_months": v for k, v in quantiles(subjects.loc[subjects["arm"] == arm, "age_at_enrolment_months"]).items()}}
            for arm in arms]
    report.add("age_by_arm", "Age at enrolment by arm (months)",
               pd.DataFrame(ages, columns=["arm", "subjects", "median_months", "q1_months", "q3_months"]))


def _dosing(report: Report, trial, subjects: pd.DataFrame, arms: list[str], as_of: date) -> None:  # type: ignore[no-untyped-def]
    from trials.models import DosingRecord, ProtocolDeviation

    threshold = float(trial.deviation_threshold_percent)
    doses = pd.DataFrame(list(
        DosingRecord.objects.filter(subject_id__in=list(subjects["pk"]), administered_at__date__lte=as_of)
        .order_by("subject_id", "administered_at", "pk")
        .values_list("pk", "subject_id", "agent_code", "administered_at", "net_activity_mbq", "recommended_activity_mbq",
                     "deviation_percent", "effective_dose_msv")),
        columns=["pk", "subject_id", "agent", "administered_at", "net_activity_mbq", "recommended_activity_mbq",
                 "deviation_percent", "effective_dose_msv"])
    flagged = set(ProtocolDeviation.objects.filter(dosing_record_id__in=list(doses["pk"]),
                                                   kind=ProtocolDeviation.Kind.DOSE_ABOVE_THRESHOLD)
                  .values_list("dosing_record_id", flat=True))
    doses = doses.merge(subjects[["pk", "subject_number", "arm"]].rename(columns={"pk": "subject_id"}), on="subject_id")
    doses = doses.sort_values(["subject_number", "administered_at", "pk"])
    doses["dose_number"] = doses.groupby("subject_id").cumcount() + 1
    doses["administered_on"] = doses["administered_at"].map(timezone.localdate)
    for column in ("net_activity_mbq", "recommended_activity_mbq", "deviation_percent", "effective_dose_msv"):
        doses[column] = doses[column].map(lambda v: None if v is None else float(v))
    doses["above_threshold"] = doses["deviation_percent"].map(lambda v: v is not None and v > threshold)
    doses["protocol_deviation"] = doses["pk"].isin(flagged)
    report.add("dosing_listing", "Administrations against the recommended activity",
               doses[["subject_number", "dose_number", "arm", "agent", "administered_on", "net_activity_mbq",
                      "recommended_activity_mbq", "deviation_percent", "above_threshold", "protocol_deviation",
                      "effective_dose_msv"]],
               f"deviation_percent: (net - recommended) / recommended; threshold {threshold:g} %.")
    rows = []
    for arm in arms:
        d = doses[doses["arm"] == arm]
        known = d["deviation_percent"].dropna()
        rows.append({"arm": arm, "doses": len(d), "with_recommendation": len(known),
                     "within_threshold": int((known <= threshold).sum()), "above_threshold": int((known > threshold).sum()),
                     "protocol_deviations": int(d["protocol_deviation"].sum()),
                     "median_deviation_percent": quantiles(known)["median"]})
    report.add("dosing_compliance_by_arm", "Dosing compliance by arm", pd.DataFrame(rows, columns=[
        "arm", "doses", "with_recommendation", "within_threshold", "above_threshold", "protocol_deviations",
        "median_deviation_percent"]))


# The event's own columns, then the report's fields the safety sections read (declared in trials/safety/ae_form.py).
AE_COLUMNS = ["pk", "subject_id", "number", *(f"current_version__{name}" for name in ae_form.IN_TRIAL_REPORT), "is_serious", "is_susar"]


def _safety(report: Report, subjects: pd.DataFrame, arms: list[str], as_of: date) -> None:
    from reports import plots  # loaded when a report is built (see _accrual)
    from trials.safety.models import AdverseEvent, ReportingClock

    events = pd.DataFrame(list(
        AdverseEvent.objects.filter(subject_id__in=list(subjects["pk"]), current_version__isnull=False,
                                    current_version__onset_date__lte=as_of).order_by("pk").values_list(*AE_COLUMNS)),
        columns=AE_COLUMNS).rename(columns=lambda c: c.replace("current_version__", ""))
    events = events.merge(subjects[["pk", "subject_number", "arm"]].rename(columns={"pk": "subject_id"}), on="subject_id")
    arm_n = subjects.groupby("arm").size()
    term_rows, grade_rows, related_rows = [], [], []
    for (arm, soc, term), g in events.groupby(["arm", "soc", "term"], sort=True):
        n = g["subject_id"].nunique()
        term_rows.append({"arm": arm, "soc": soc, "term": term, "events": len(g), "subjects": n,
                          "percent_of_arm": 100.0 * n / arm_n[arm]})
        max_grades = g.groupby("subject_id")["grade"].max()
        for grade in range(1, 6):
            grade_rows.append({"arm": arm, "soc": soc, "term": term, "max_grade": grade, "subjects": int((max_grades == grade).sum())})
    for (arm, related), g in events.groupby(["arm", "relatedness"], sort=True):
        related_rows.append({"arm": arm, "relatedness": related, "events": len(g), "subjects": g["subject_id"].nunique()})
    report.add("ae_by_soc_term", "Adverse events by system organ class and term",
               pd.DataFrame(term_rows, columns=["arm", "soc", "term", "events", "subjects", "percent_of_arm"]),
               gettext_noop("Current version of each report (CTCAE v5.0 terms)."))
    report.add("ae_max_grade", "Subjects by maximum CTCAE grade per term",
               pd.DataFrame(grade_rows, columns=["arm", "soc", "term", "max_grade", "subjects"]))
    report.add("ae_by_relatedness", "Adverse events by relatedness (investigator)",
               pd.DataFrame(related_rows, columns=["arm", "relatedness", "events", "subjects"]))
    if len(events):
        by_soc = events.groupby("soc").size().sort_values(ascending=False, kind="stable")
        report.figures.append(Figure("ae_soc", "Adverse events by system organ class",
                                     plots.bar_plot([str(s)[:60] for s in by_soc.index], by_soc.tolist(), xlabel="Events",
                                                     language=report.params.get("language", "en"))))
    serious = events[events["is_serious"].astype(bool)].sort_values(["subject_number", "number"])
    clocks = pd.DataFrame(list(ReportingClock.objects.filter(event_id__in=list(serious["pk"])).order_by("event_id", "kind")
                               .values_list("event_id", "kind", "due_at", "reported_at", "status")),
                          columns=["pk", "clock", "due_at", "reported_at", "clock_status"])
    listing = serious.merge(clocks, on="pk", how="left").sort_values(["subject_number", "number", "clock"], na_position="first")
    report.add("sae_listing", "Serious adverse events and their reporting clocks",
               listing[["subject_number", "number", "arm", "term", "soc", "grade", "onset_date", "relatedness", "is_susar",
                        "clock", "due_at", "reported_at", "clock_status"]].rename(columns={"number": "ae_number"}),
               gettext_noop("Clocks: site 24-hour report; SUSAR 7/15 calendar days. Times: local time on the page and in the "
                            "PDF, UTC in the CSV. met/late as recorded; open: not reported yet."))


def _queries(report: Report, trial) -> None:  # type: ignore[no-untyped-def]
    from trials.oversight.models import DataQuery

    sites = dict(trial.sites.values_list("hospital_id", "site_number"))
    rows = (DataQuery.objects.filter(trial_id=trial.pk).exclude(status=DataQuery.Status.CLOSED).values("hospital_id")
            .annotate(open=Count("pk", filter=Q(status=DataQuery.Status.OPEN)),
                      answered=Count("pk", filter=Q(status=DataQuery.Status.ANSWERED))))
    found = {r["hospital_id"]: r for r in rows}
    table = [{"site": number, "open": found.get(h, {}).get("open", 0), "answered": found.get(h, {}).get("answered", 0)}
             for h, number in sorted(sites.items(), key=lambda item: item[1])]
    report.add("open_queries_by_site", "Open data queries per site", pd.DataFrame(table, columns=["site", "open", "answered"]),
               gettext_noop("answered: waiting for the monitor to close. Counts only (query texts are not exported)."))


def _image_quality(report: Report, subjects: pd.DataFrame) -> None:
    from imaging.reading.models import AssignmentCase, ReadingSession
    from imaging.reading.models.sessions import SCALES

    cases = pd.DataFrame(list(
        AssignmentCase.objects.filter(item__patient_id__in=list(subjects["patient_id"]), scored_at__isnull=False,
                                      assignment__session__status=ReadingSession.Status.COMPLETE)
        .order_by("pk").values_list("assignment__session_id", "item__arm", *SCALES)), columns=["session", "read_arm", *SCALES])
    rows = []
    for (session, arm), g in cases.groupby(["session", "read_arm"], sort=True):
        for scale in SCALES:
            rows.append({"session": session, "read_arm": arm, "scale": scale, "reads": len(g), **quantiles(g[scale]),
                         "mean": float(g[scale].mean())})
    report.add("image_quality_by_arm", "Blinded image-quality reads by arm",
               pd.DataFrame(rows, columns=["session", "read_arm", "scale", "reads", "mean", "median", "q1", "q3"]),
               gettext_noop("Completed reading sessions whose cases include this trial's subjects; arms as labelled in the "
                            "session (5-point scales, 5 = best).") if rows
               else gettext_noop("No completed image-quality reading session includes this trial's subjects."))


def build(user: User, params: dict[str, Any], progress: Progress) -> Report:
    from trials.models import Trial

    trial = Trial.objects.restrict(user, Action.VIEW).get(pk=params["trial"])
    as_of = date.fromisoformat(params["as_of"])
    report = Report("trial", f"Trial report {trial.code} as of {as_of.isoformat()}", params)
    # Separate notes, so that each is a whole sentence in the catalogue (translated where it is shown).
    report.notes.append(gettext_noop("De-identified: subjects by trial subject number only. Subjects who withdrew the use of "
                                     "their data are excluded."))
    if trial.blinded:
        report.notes.append(gettext_noop("Blinded trial: arms shown only for unblinded subjects."))
    subjects = subject_frame(trial, as_of)
    arms = arm_labels(trial, subjects)
    progress(15)
    _accrual(report, trial, subjects)
    _consort(report, trial, subjects, arms, as_of)
    progress(35)
    _baseline(report, subjects, arms)
    _dosing(report, trial, subjects, arms, as_of)
    progress(55)
    _safety(report, subjects, arms, as_of)
    progress(75)
    _queries(report, trial)
    _image_quality(report, subjects)
    progress(90)
    return report


TRIAL = register_report_kind(ReportKind("trial", gettext_lazy("Sponsor trial report"), authorise, build, permit, trial_param="trial",
                                        offered_to=Rule.REPORT_TRIAL))
