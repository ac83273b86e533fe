"""Cohort report benchmark: the report's computation and each export, next to pandas on an in-memory frame.

The anchor (docs/benchmarks.md, "Anchors") is pandas computing the same aggregates (the same groupbys, the same
Kaplan-Meier fits with lifelines) from DataFrames already in memory, measured in the same run: the
report cannot beat it, since it must also query the database. Only the ratio holds on these shared machines.

    .venv/bin/python bench/reports.py --database-url postgres://postgres@127.0.0.1:5432/nbnm_reports_bench [--extra 95500]

The database must be migrated and hold the demo cohort (`manage.py seed_demo`, 4,500 patients); --extra adds
that many synthetic patients straight to the tables (reports/tests/bulk.py) to time a larger cohort.
Targets (issue 7): computation under 0.5 s for 4,500 patients and under 5 s for 100,000.
The data managers' extract (reports/exports/) is timed too: every table streamed into a zip in storage.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _median_seconds(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _frames(params: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Everything the report reads, loaded once into DataFrames (not timed): the anchor's input."""
    from datetime import date

    import pandas as pd

    from imaging.models import ImagingStudy
    from imaging.models.analysis import DoseResult
    from registry.consent_rules import annotate_consent
    from registry.models import FollowUpVisit, Patient

    as_of = date.fromisoformat(params["as_of"])
    patients_qs = Patient.objects.usable_for_research(as_of).filter(hospital__code__in=params["hospitals"], diagnosis_date__lte=as_of)
    cols = ["pk", "hospital__code", "hospital__province", "diagnosis_date", "age_at_diagnosis_months", "inrgss_stage", "inrg_risk",
            "cog_risk", "mycn", "death_date", "last_contact_date", "has_registry_consent", "reconsent_due", "adult_consent_due"]
    patients = pd.DataFrame(list(annotate_consent(patients_qs, on=as_of).values_list(*cols)), columns=cols)
    vcols = ["patient_id", "patient__hospital__code", "target_date", "window_start", "window_end", "status", "visit_date",
             "disease_status", "event_date"]
    visits = pd.DataFrame(list(FollowUpVisit.objects.filter(patient__in=patients_qs.values("pk")).values_list(*vcols)), columns=vcols)
    studies = pd.DataFrame(list(ImagingStudy.objects.filter(patient__in=patients_qs.values("pk"), study_date__lte=as_of)
                                .values_list("patient_id", "study_date", "tracer", "patient__hospital__code")),
                           columns=["patient_id", "study_date", "tracer", "hospital"])
    doses = pd.DataFrame(list(DoseResult.objects.filter(study__patient__in=patients_qs.values("pk"), study__study_date__lte=as_of)
                              .values_list("study__patient_id", "study__modality_group", "tracer", "total_msv")),
                         columns=["patient_id", "modality_group", "tracer", "total_msv"])
    return as_of, patients, visits, studies, doses


def _pandas_anchor(as_of, patients, visits, studies, doses) -> int:  # type: ignore[no-untyped-def]
    """The same aggregates as the cohort report, from the in-memory frames."""
    import numpy as np
    import pandas as pd
    from lifelines import KaplanMeierFitter

    out = []
    for column in ("hospital__code", "hospital__province", "inrgss_stage", "inrg_risk", "cog_risk", "mycn"):
        out.append(patients[column].value_counts())
    out.append(pd.to_datetime(patients["diagnosis_date"]).dt.year.value_counts())
    out.append(pd.cut(patients["age_at_diagnosis_months"], [0, 12, 18, 60, np.inf], right=False).value_counts())
    out.append(patients.groupby(["has_registry_consent", "reconsent_due", "adult_consent_due"]).size())
    due = visits[visits["target_date"].notna() & (pd.to_datetime(visits["window_end"]) <= pd.Timestamp(as_of))
                 & (visits["status"] != "cancelled")]
    in_window = (due["status"] == "done") & (due["visit_date"] >= due["window_start"]) & (due["visit_date"] <= due["window_end"])
    out.append(due.assign(in_window=in_window).groupby("patient__hospital__code")["in_window"].agg(["size", "sum"]))
    cutoff = pd.Timestamp(as_of)
    events = visits[(visits["status"] == "done") & (pd.to_datetime(visits["event_date"]) <= cutoff)].groupby("patient_id")["event_date"].min()
    frame = patients.set_index("pk")
    dx = pd.to_datetime(frame["diagnosis_date"])
    death = pd.to_datetime(frame["death_date"]).where(lambda s: s <= cutoff)
    end = death.fillna(pd.to_datetime(frame["last_contact_date"]).fillna(dx).clip(upper=cutoff))
    efs = pd.concat([pd.to_datetime(events.reindex(frame.index)), death], axis=1).min(axis=1)
    for days, event in (((end - dx).dt.days, death.notna()), ((efs.fillna(end) - dx).dt.days, efs.notna())):
        for group in (None, *sorted(frame["inrg_risk"].unique())):
            mask = slice(None) if group is None else (frame["inrg_risk"] == group)
            kmf = KaplanMeierFitter().fit(days[mask] / 30.4375, event[mask])
            out.append(kmf.survival_function_at_times([0, 6, 12, 24, 36, 48, 60]))
    out.append(studies.assign(year=pd.to_datetime(studies["study_date"]).dt.year).groupby(["year", "tracer", "hospital"]).size())
    per_child = doses.groupby("patient_id")["total_msv"].sum()
    out.append(per_child.quantile([0.25, 0.5, 0.75]))
    out.append(doses.groupby(["modality_group", "tracer"])["total_msv"].quantile([0.25, 0.5, 0.75]))
    return len(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nbnm_reports_bench"))
    parser.add_argument("--as-of", default="2026-11-27")
    parser.add_argument("--extra", type=int, default=0, help="synthetic patients to add first (0: time what is there)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF export timing")
    parser.add_argument("--no-extract", action="store_true", help="skip the de-identified extract timing")
    args = parser.parse_args()
    os.environ.update({"DJANGO_SETTINGS_MODULE": "config.settings.dev", "DATABASE_URL": args.database_url})
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from registry.access import HospitalRole
    from registry.models import Hospital, HospitalMembership, Patient, User
    from reports import plots, renderers
    from reports.builders import cohort

    if args.extra:
        from reports.tests.bulk import bulk_cohort

        hospital = Hospital.objects.order_by("code").first()
        started = time.perf_counter()
        bulk_cohort(hospital, args.extra, prefix=f"BX{Patient.objects.count()}-")
        print(f"added {args.extra} synthetic patients in {time.perf_counter() - started:.1f} s")
    user, _ = User.objects.get_or_create(username="bench_reports_dm")
    HospitalMembership.objects.get_or_create(user=user, hospital=None, role=HospitalRole.DATA_MANAGER)
    params = cohort.authorise(user, {"as_of": args.as_of})
    patients = cohort.cohort_patients(user, params).count()
    print(f"cohort: {patients} patients in the report (of {Patient.objects.count()}), {len(params['hospitals'])} hospitals, "
          f"as of {params['as_of']}, database {django.db.connection.vendor}")

    full, report = _median_seconds(lambda: cohort.build(user, params, lambda p: None), args.repeat)
    # The computation alone: the same build with the figures (matplotlib) replaced by nothing.
    real = (plots.km_plot, plots.histogram)
    plots.km_plot, plots.histogram = (lambda *a, **k: b""), (lambda *a, **k: b"")
    try:
        compute, _ = _median_seconds(lambda: cohort.build(user, params, lambda p: None), args.repeat)
    finally:
        plots.km_plot, plots.histogram = real
    # The anchor's frames are loaded after the report is timed: millions of live Python objects (the visits as
    # object columns) would slow every allocation of the report through the garbage collector.
    as_of, *frames = _frames(params)
    anchor, _ = _median_seconds(lambda: _pandas_anchor(as_of, *frames), args.repeat)
    csv_s, _ = _median_seconds(lambda: [renderers.to_csv(s) for s in report.sections], args.repeat)
    xlsx_s, _ = _median_seconds(lambda: renderers.to_xlsx(report), args.repeat)
    json_s, _ = _median_seconds(lambda: renderers.to_json(report), args.repeat)
    print(f"pandas anchor (same aggregates, in-memory frames): {anchor:.3f} s")
    print(f"cohort computation (queries + pandas + KM, no figures): {compute:.3f} s  = {compute / anchor:.1f} x anchor")
    print(f"cohort build with figures (matplotlib):                {full:.3f} s  = {full / anchor:.1f} x anchor")
    print(f"exports: CSV (all {len(report.sections)} sections) {csv_s:.3f} s, XLSX {xlsx_s:.3f} s, JSON {json_s:.3f} s", end="")
    if not args.no_pdf:
        pdf_s, _ = _median_seconds(lambda: renderers.to_pdf(report), 1)
        print(f", PDF {pdf_s:.3f} s (one run)")
    else:
        print()
    if not args.no_extract:
        _time_extract(user, params["as_of"])


def _time_extract(user, as_of: str) -> None:  # type: ignore[no-untyped-def]
    """The whole extract once (all tables streamed into a zip in storage), then the file is removed again.

    The process's peak resident memory before and after shows the streaming: it must not grow with the rows.
    """
    import resource

    from django.core.files.storage import default_storage

    from reports.exports import extract

    key = "reports/bench/extract.zip"
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    written = extract.write(user, {"as_of": as_of}, lambda p: None, key)
    seconds = time.perf_counter() - started
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for f in written.files:
        default_storage.delete(f.storage_key)
    rows = sum(written.row_counts.values())
    print(f"extract: {rows} rows in {len(written.row_counts)} tables, zip {written.files[0].size / 1e6:.1f} MB, {seconds:.2f} s "
          f"(one run, {rows / seconds:,.0f} rows/s); peak RSS {peak_before / 1e3:.0f} MB before, {peak_after / 1e3:.0f} MB after")

if __name__ == "__main__":
    main()
