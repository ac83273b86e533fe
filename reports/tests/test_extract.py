"""The data managers' de-identified extract: tables and dictionary against the seeded data, withdrawal, identifiers,
byte-identical output, constant queries and access."""
import csv
import hashlib
import io
import zipfile
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import api_client
from registry.models import AuditEvent, ConsentRecord, FollowUpVisit, Patient
from reports.exports import extract
from reports.exports.definitions import TABLES, pseudonym
from reports.models import ReportRun
from reports.tests.bulk import bulk_cohort
from reports.tests.helpers import AS_OF, file_bytes, generate, identifiers, make_cohort
from reports.tests.trial_helpers import make_trial_world

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 27)


def tables(content: bytes) -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        return {name.removesuffix(".csv"): list(csv.DictReader(io.StringIO(zf.read(name).decode("utf-8")))) for name in zf.namelist()}


@pytest.fixture
def world(actors):  # type: ignore[no-untyped-def]
    cohort = make_cohort(actors)
    trial = make_trial_world(actors)
    return cohort, trial


def _run(actors, capture, as_of: date = TODAY) -> ReportRun:  # type: ignore[no-untyped-def]
    return generate(actors.data_manager, "extract", {"as_of": as_of.isoformat()}, capture)


def test_tables_and_dictionary_match_the_seeded_data(actors, world, eager, django_capture_on_commit_callbacks) -> None:
    cohort, trial = world
    run = _run(actors, django_capture_on_commit_callbacks)
    assert [f.name for f in run.files.all()] == ["extract.zip"] and run.progress == 100
    data = tables(file_bytes(run, "extract.zip"))
    assert set(data) == {"data_dictionary", *(t.name for t in TABLES)}
    # Patients: everyone in research on the date (the cohort's p4 and the trial's withdrawn subject are gone).
    research = Patient.objects.exclude(data_use_withdrawn_on__lte=TODAY)
    assert sorted(r["patient_key"] for r in data["patients"]) == sorted(pseudonym("patient", p.pk) for p in research)
    p1 = next(r for r in data["patients"] if r["patient_key"] == pseudonym("patient", cohort.p1.pk))
    assert (p1["hospital"], p1["inrg_risk"], p1["mycn"], p1["age_at_diagnosis_months"]) == ("AAA", "high", "amplified", "18")
    assert p1["death_date"] == cohort.p1.death_date.isoformat()
    visits = [r for r in data["follow_up_visits"] if r["patient_key"] == p1["patient_key"]]
    assert len(visits) == FollowUpVisit.objects.filter(patient=cohort.p1).count()
    progression = [r for r in visits if r["disease_status"] == "PD"]
    assert [r["event_date"] for r in progression] == ["2021-03-01"] and progression[0]["number"] == "2"
    assert len(data["imaging_studies"]) == 3 and {r["effective_dose_msv"] for r in data["imaging_studies"]} == {"5.0000", "7.0000", "3.0000"}
    assert len(data["consents"]) == ConsentRecord.objects.filter(patient__in=research).count()
    # Trial tables: by subject number; the withdrawn subject's screening, dosing and AE are not there.
    numbers = sorted(s.subject_number for s in trial.subjects)
    assert sorted(r["subject_number"] for r in data["trial_subjects"]) == numbers
    assert {r["arm"] for r in data["trial_subjects"]} <= {"LOW", "STD"}
    assert len(data["trial_dosing"]) == 2 and len(data["adverse_events"]) == 3
    assert {r["term"] for r in data["adverse_events"]} == {"Nausea", "Febrile neutropenia"}
    assert trial.withdrawn.subject_number not in {r["subject_number"] for r in data["trial_dosing"] + data["adverse_events"]}
    assert sum(r["outcome"] == "screen_failure" for r in data["trial_screenings"]) == 1
    assert run.row_counts == {name: len(rows) for name, rows in data.items() if name != "data_dictionary"}
    # The dictionary describes every column of every table, with the code lists of coded columns.
    dictionary = {(r["table"], r["column"]): r for r in data["data_dictionary"]}
    assert set(dictionary) == {(t, c) for t, rows in data.items() if t != "data_dictionary" for c in (rows[0] if rows else {})} | {
        (t.name, c.name) for t in TABLES for c in t.columns}
    assert dictionary[("patients", "diagnosis_date")]["type"] == "date"
    assert dictionary[("patients", "age_at_diagnosis_months")]["type"] == "integer"
    assert "high=High" in dictionary[("patients", "inrg_risk")]["code_list"]
    assert "amplified=" in dictionary[("patients", "mycn")]["code_list"]
    assert dictionary[("trial_dosing", "weight_kg")]["type"] == "decimal"
    assert run.result["dictionary"] == data["data_dictionary"]
    assert {t["name"]: t["rows"] for t in run.result["tables"]} == run.row_counts


def test_withdrawal_removes_the_patient_from_the_date(actors, world, eager, django_capture_on_commit_callbacks) -> None:
    cohort, _ = world
    key = pseudonym("patient", cohort.p4.pk)
    before = tables(file_bytes(_run(actors, django_capture_on_commit_callbacks, date(2021, 12, 31)), "extract.zip"))
    after = tables(file_bytes(_run(actors, django_capture_on_commit_callbacks, date(2022, 1, 1)), "extract.zip"))
    for name in ("patients", "follow_up_visits", "imaging_studies", "consents"):
        assert key in {r["patient_key"] for r in before[name]}, name
        assert key not in {r["patient_key"] for r in after[name]}, name


def test_no_identifier_and_byte_identical(actors, world, eager, django_capture_on_commit_callbacks) -> None:
    cohort, trial = world
    first = _run(actors, django_capture_on_commit_callbacks)
    second = _run(actors, django_capture_on_commit_callbacks)
    content = file_bytes(first, "extract.zip")
    assert content == file_bytes(second, "extract.zip")
    assert hashlib.sha256(content).hexdigest() == first.files.get().sha256 == second.files.get().sha256
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        text = "\n".join(zf.read(n).decode("utf-8") for n in zf.namelist())
    everyone = list(Patient.objects.all())
    found = [v for v in identifiers(everyone, cohort.identities) if v in text]
    assert found == []
    for p in everyone:  # dates of birth never leave (ages at diagnosis do)
        assert p.birth_date.isoformat() not in text.replace(p.diagnosis_date.isoformat(), "")
    assert "family request" not in text and "2.25.777" not in text  # withdrawal reasons, DICOM UIDs


def test_query_count_does_not_grow_with_rows(actors, eager) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            extract.write(actors.data_manager, {"as_of": TODAY.isoformat()}, lambda p: None, f"reports/test/{Patient.objects.count()}.zip")
        return len(ctx.captured_queries)

    bulk_cohort(actors.hospital_a, 30, prefix="QA-")
    queries()  # the first run also loads the requester's scope (cached afterwards)
    small = queries()
    bulk_cohort(actors.hospital_b, 300, prefix="QB-", seed=2)
    assert queries() == small <= 2 + 2 * len(TABLES)  # one query per table (+ scope, consent document)


@pytest.mark.parametrize("actor", ["coordinator_a", "investigator_a", "monitor_a", "sponsor", "nobody"])
def test_only_data_managers_may_request_it(actors, actor) -> None:  # type: ignore[no-untyped-def]
    response = api_client(getattr(actors, actor)).post(reverse("report-run-list"), {"kind": "extract", "params": {}}, format="json")
    assert response.status_code == 403
    assert not ReportRun.objects.filter(kind="extract").exists()


def test_download_is_audited_and_sponsors_cannot_see_it(actors, world, eager, django_capture_on_commit_callbacks) -> None:
    run = _run(actors, django_capture_on_commit_callbacks, AS_OF)
    url = reverse("report-run-download", args=[run.pk, "extract.zip"])
    response = api_client(actors.data_manager).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["X-Content-SHA256"] == run.files.get().sha256
    assert AuditEvent.objects.filter(action="report_download", after__name="extract.zip").count() == 1
    for actor in ("sponsor", "coordinator_a"):
        assert api_client(getattr(actors, actor)).get(url).status_code == 404


def test_progress_moves_on_after_each_table(actors, world, eager, django_capture_on_commit_callbacks, monkeypatch) -> None:
    from registry.services.work import Work

    seen: list[int] = []
    real = Work.progress

    def record(work: Work, percent: int) -> None:
        real(work, percent)
        seen.append(ReportRun.objects.get(pk=work.pk).progress)  # what a client polling the run reads

    monkeypatch.setattr(Work, "progress", record)
    run = _run(actors, django_capture_on_commit_callbacks)
    assert len(seen) == len(TABLES) + 1 and seen == sorted(seen) and seen[-1] == 95 and run.progress == 100
