"""The programme's dose-saved report (issue 18 item 4): totals and medians per tracer, hospital and year are the
low-dose service's savings summed and taken the median of (checked against figures computed here from the activities
and coefficients), the full grouping is the service's own summary, its scope is the requester's, and no exam leaves."""
import csv
import io
import statistics
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied

from imaging.lowdose.dose_saving import dose_saving, dose_saving_summary, pet_doses
from imaging.models import DoseResult, ImagingStudy
from nucmed.effective_dose import radiopharmaceutical_effective_dose
from registry.errors import ApplicationError
from registry.services.consent import consent_withdraw
from registry.tests.builders import consented_patient, identity
from reports.builders.dose_saving import authorise, build
from reports.models import ReportRun
from reports.tests.helpers import csv_text, file_bytes, generate, identifiers, pdf_strings, xlsx_text

pytestmark = pytest.mark.django_db

# (hospital, date, tracer, age, administered MBq, recommended MBq): one sixth at A in 2024 (FDG twice, NaF once), the
# standard at B in 2025, and an exam at A without a recommendation (counted, not summed).
EXAMS = [
    ("a", date(2024, 3, 1), "F18_FDG", 4.0, 20.0, 120.0),
    ("a", date(2024, 6, 1), "F18_FDG", 9.0, 30.0, 180.0),
    ("a", date(2025, 2, 1), "F18_NAF", 6.0, 15.0, 90.0),
    ("b", date(2025, 1, 5), "F18_FDG", 6.0, 150.0, 150.0),
    ("a", date(2025, 4, 1), "F18_FDG", 3.0, 25.0, None),
]


def coefficient(tracer: str, age: float) -> float:
    return radiopharmaceutical_effective_dose(agent_code=tracer, activity_mbq=1.0, age_years=age).coefficient_msv_per_mbq


def hand_saving(tracer: str, age: float, given: float, recommended: float | None) -> float | None:
    return None if recommended is None else coefficient(tracer, age) * (recommended - given)


@pytest.fixture
def exams(actors):  # type: ignore[no-untyped-def]
    out = []
    for n, (site, on, tracer, age, given, recommended) in enumerate(EXAMS):
        hospital, actor = (actors.hospital_a, actors.coordinator_a) if site == "a" else (actors.hospital_b, actors.coordinator_b)
        ident = identity()
        patient = consented_patient(actor, hospital, ident=ident, birth_date=date(2016, 1, 1), diagnosis_date=date(2020, 1, 1))
        study = ImagingStudy.objects.create(patient=patient, study_uid=f"2.25.4418{n}", study_date=on, tracer=tracer,
                                            modality_group="pet_ct", status=ImagingStudy.Status.READY)
        DoseResult.objects.create(study=study, tracer=tracer, age_years=age, administered_activity_mbq=given,
                                  recommended_activity_mbq=recommended, radiopharmaceutical_msv=given * coefficient(tracer, age),
                                  radiopharmaceutical_coefficient=coefficient(tracer, age))
        out.append((patient, ident, hand_saving(tracer, age, given, recommended)))
    return out


def rows(run: ReportRun, section: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_text(run, section))))


def num(text: str) -> float | None:
    return None if text == "" else float(text)


def expected(savings: list[float | None]) -> dict[str, float | int | None]:
    known = [s for s in savings if s is not None]
    return {"exams": len(known), "exams_unknown": len(savings) - len(known), "total_saving_msv": sum(known) if known else None,
            "median_saving_msv": statistics.median(known) if known else None}


def check(row: dict[str, str], want: dict[str, float | int | None]) -> None:
    assert (int(row["exams"]), int(row["exams_unknown"])) == (want["exams"], want["exams_unknown"])
    for column in ("total_saving_msv", "median_saving_msv"):
        got, value = num(row[column]), want[column]
        assert (got is None and value is None) or got == pytest.approx(value, abs=5e-5), column


@pytest.fixture
def run(actors, exams, eager, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    return generate(actors.data_manager, "dose_saving", {}, django_capture_on_commit_callbacks)


def test_totals_and_medians_equal_hand_computed_savings(run, exams) -> None:
    savings = [s for _, _, s in exams]
    [overall] = rows(run, "saving_overall")
    check(overall, expected(savings))
    assert "tracer" not in overall and "hospital" not in overall and "year" not in overall
    by_tracer = {r["tracer"]: r for r in rows(run, "saving_by_tracer")}
    check(by_tracer["F18_FDG"], expected([savings[i] for i in (0, 1, 3, 4)]))
    check(by_tracer["F18_NAF"], expected([savings[2]]))
    by_hospital = {r["hospital"]: r for r in rows(run, "saving_by_hospital")}
    check(by_hospital["AAA"], expected([savings[i] for i in (0, 1, 2, 4)]))
    check(by_hospital["BBB"], expected([savings[3]]))
    by_year = {r["year"]: r for r in rows(run, "saving_by_year")}
    check(by_year["2024"], expected(savings[:2]))
    check(by_year["2025"], expected(savings[2:]))
    assert num(by_hospital["BBB"]["total_saving_msv"]) == pytest.approx(0.0)  # the standard activity saves nothing
    assert run.files.filter(name="saving_by_year_plot.svg").exists()


def test_the_full_grouping_is_the_services_summary(actors, run) -> None:
    service = dose_saving_summary(dose_saving(d) for d in pet_doses(actors.data_manager))
    table = rows(run, "saving_by_tracer_hospital_year")
    assert [(r["tracer"], r["hospital"], r["year"]) for r in table] == [(s["tracer"], s["hospital"], str(s["year"])) for s in service]
    for row, want in zip(table, service, strict=True):
        assert list(row) == list(want)  # every column the service gives, in its order
        check(row, want)


def test_scope_dates_and_withdrawal(actors, exams) -> None:
    report = build(actors.investigator_a, authorise(actors.investigator_a, {}), lambda p: None)
    assert list(next(s.frame for s in report.sections if s.key == "saving_by_hospital")["hospital"]) == ["AAA"]
    params = authorise(actors.data_manager, {"study_from": "2025-01-01", "study_to": "2025-03-01"})
    overall = next(s.frame for s in build(actors.data_manager, params, lambda p: None).sections if s.key == "saving_overall")
    assert int(overall["exams"].iloc[0]) == 2  # NaF at A and the standard at B
    patient = exams[0][0]
    consent_withdraw(actor=actors.coordinator_a, consent=patient.consents.get(), withdrawn_on=date(2024, 1, 1),
                     scope="withdraw_data_use", reason="family request")
    overall = next(s.frame for s in build(actors.data_manager, authorise(actors.data_manager, {}), lambda p: None).sections
                   if s.key == "saving_overall")
    assert int(overall["exams"].iloc[0]) + int(overall["exams_unknown"].iloc[0]) == 4


def test_who_may_ask_and_bad_parameters(actors, exams) -> None:
    for user in (actors.sponsor, actors.monitor_a, actors.nobody):
        with pytest.raises(PermissionDenied):
            authorise(user, {})
    for user, bad in ((actors.investigator_a, {"hospitals": ["BBB"]}), (actors.data_manager, {"hospitals": "AAA"}),
                      (actors.data_manager, {"study_from": "2025-02-01", "study_to": "2025-01-01"}),
                      (actors.data_manager, {"protocol": 1})):
        with pytest.raises(ApplicationError):
            authorise(user, bad)


def test_zh_headings_and_no_identifier(real_pdf, actors, exams, eager, django_capture_on_commit_callbacks) -> None:
    run = generate(actors.data_manager, "dose_saving", {"language": "zh-hans"}, django_capture_on_commit_callbacks)
    names, text = xlsx_text(file_bytes(run, "dose_saving.xlsx"))
    assert "saving_by_hospital" in names and "节省总量（mSv）" in text and "节省中位数（mSv）" in text
    assert "按医院统计的剂量节省" in pdf_strings(file_bytes(run, "dose_saving.pdf"))
    patients = [p for p, _, _ in exams]
    forbidden = identifiers(patients, [i for _, i, _ in exams]) + [f"2.25.4418{n}" for n in range(len(EXAMS))]
    for file in run.files.all():
        content = file_bytes(run, file.name)
        text = {"csv": lambda b: b.decode("utf-8"), "xlsx": lambda b: xlsx_text(b)[1], "pdf": pdf_strings,
                "svg": lambda b: b.decode("utf-8")}[file.format](content)
        assert not [value for value in forbidden if value in text], file.name


def test_queries_do_not_grow_with_exams(actors, exams, django_assert_max_num_queries) -> None:
    params = authorise(actors.data_manager, {})
    # Measured 1 (the PET exams with their study, patient and hospital) once the memberships are known; 2 more before.
    with django_assert_max_num_queries(3):
        build(actors.data_manager, params, lambda p: None)
    patient = exams[0][0]
    for n in range(5):
        study = ImagingStudy.objects.create(patient=patient, study_uid=f"2.25.4419{n}", study_date=date(2024, 9, 1 + n), tracer="F18_FDG",
                                            modality_group="pet_ct", status=ImagingStudy.Status.READY)
        DoseResult.objects.create(study=study, tracer="F18_FDG", age_years=4.0, administered_activity_mbq=20.0, recommended_activity_mbq=120.0,
                                  radiopharmaceutical_msv=20.0 * coefficient("F18_FDG", 4.0),
                                  radiopharmaceutical_coefficient=coefficient("F18_FDG", 4.0))
    with django_assert_max_num_queries(3):
        report = build(actors.data_manager, params, lambda p: None)
    assert int(next(s.frame for s in report.sections if s.key == "saving_overall")["exams"].iloc[0]) == 9


def test_exams_are_counted_by_protocol_and_sedation(actors, exams) -> None:
    studies = [p.imaging_studies.get() for p, _, _ in exams]
    # The two one-sixth FDG exams at A under general anaesthesia and sedation; the standard at B without; the rest not recorded.
    for study, protocol, sedation in ((studies[0], "low_dose", "general_anaesthesia"), (studies[1], "low_dose", "sedation"),
                                      (studies[3], "standard", "none")):
        ImagingStudy.objects.filter(pk=study.pk).update(acquisition_protocol=protocol, sedation=sedation)
    report = build(actors.data_manager, authorise(actors.data_manager, {}), lambda p: None)
    sections = {s.key: s.frame for s in report.sections}
    overall = sections["saving_overall"].iloc[0]
    assert (overall["sedation_general_anaesthesia"], overall["sedation_sedation"], overall["sedation_none"],
            overall["sedation_not_recorded"]) == (1, 1, 1, 2)
    assert (overall["protocol_low_dose"], overall["protocol_standard"], overall["protocol_unknown"]) == (2, 1, 2)
    by_hospital = sections["saving_by_hospital"].set_index("hospital")
    assert by_hospital.loc["BBB", "sedation_none"] == 1 and by_hospital.loc["AAA", "sedation_none"] == 0
    assert by_hospital.loc["AAA", "sedation_not_recorded"] == 2  # the NaF exam and the one without a recommendation
    by_year = sections["saving_by_year"].set_index("year")
    assert by_year.loc["2024", "sedation_general_anaesthesia"] + by_year.loc["2024", "sedation_sedation"] == 2
    # The median saving in per cent of the standard dose: one sixth given saves 5/6 whatever the child's coefficient.
    assert by_year.loc["2024", "median_saving_percent"] == pytest.approx(100 * 5 / 6)
    assert any("sedation_*" in n for n in report.notes)
