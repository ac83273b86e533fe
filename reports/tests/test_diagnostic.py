"""The diagnostic-performance report over the headline comparison seeded from individual reads."""
import csv
import io
from datetime import date

import pytest
from scipy import stats

from imaging.reading.headline import NAME, headline_lesions, seed_headline_comparison
from imaging.reading.models import ComparisonUnit
from imaging.reading.services.comparison import comparison_unit_create, reading_comparison_create, unit_read_record
from registry.services.consent import consent_withdraw
from registry.tests.builders import consented_patient, identity
from reports.builders.diagnostic import authorise, build
from reports.models import ReportRun
from reports.tests.helpers import csv_text, file_bytes, generate, identifiers, pdf_strings, xlsx_text

pytestmark = pytest.mark.django_db


def rows(run: ReportRun, section: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_text(run, section))))


@pytest.fixture
def seeded(actors):  # type: ignore[no-untyped-def]
    idents = [identity() for _ in range(6)]
    patients = [consented_patient(actors.coordinator_a if n < 4 else actors.coordinator_b,
                                  actors.hospital_a if n < 4 else actors.hospital_b, ident=idents[n]) for n in range(6)]
    comparison = seed_headline_comparison(actor=actors.data_manager, patients=patients)
    return comparison, patients, idents


@pytest.fixture
def run(actors, seeded, eager, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    return generate(actors.data_manager, "diagnostic", {"comparison": seeded[0].pk}, django_capture_on_commit_callbacks)


def test_seed_is_individual_reads_and_idempotent(actors, seeded) -> None:
    comparison, patients, _ = seeded
    assert ComparisonUnit.objects.filter(comparison=comparison).count() == 81
    assert {u.patient_id for u in ComparisonUnit.objects.filter(comparison=comparison)} == {p.pk for p in patients}
    assert seed_headline_comparison(actor=actors.data_manager, patients=patients) == comparison
    assert ComparisonUnit.objects.count() == 81


def test_headline_figures_and_mcnemar(run) -> None:
    # Percentages are rounded to one decimal by the builder; the CSV writes floats with four.
    accuracy = {(r["method"], r["measure"]): {k: (float(v) if k.endswith("percent") else v) for k, v in r.items()}
                for r in rows(run, "accuracy")}
    assert accuracy[("planar", "sensitivity")]["percent"] == 65.1
    assert accuracy[("SPECT/CT", "sensitivity")]["percent"] == 93.0
    assert accuracy[("planar", "specificity")]["percent"] == 92.1
    assert accuracy[("SPECT/CT", "specificity")]["percent"] == 100.0
    assert (accuracy[("planar", "sensitivity")]["correct"], accuracy[("planar", "sensitivity")]["units"]) == ("28", "43")
    # Wilson 28/43 by hand: 50.2 % to 77.6 %; 38/38 reaches 100 % exactly.
    assert (accuracy[("planar", "sensitivity")]["ci_low_percent"], accuracy[("planar", "sensitivity")]["ci_high_percent"]) == (50.2, 77.6)
    assert accuracy[("SPECT/CT", "specificity")]["ci_high_percent"] == 100.0
    tables = {r["method"]: r for r in rows(run, "two_by_two")}
    assert tables["planar"] == {"method": "planar", "true_positive": "28", "false_positive": "3", "false_negative": "15", "true_negative": "35"}
    mcnemar = {r["measure"]: r for r in rows(run, "mcnemar")}
    assert (mcnemar["sensitivity"]["only_a_correct"], mcnemar["sensitivity"]["only_b_correct"]) == ("0", "12")
    assert float(mcnemar["sensitivity"]["exact_p"]) == pytest.approx(stats.binomtest(0, 12, 0.5).pvalue, rel=1e-3)
    assert float(mcnemar["sensitivity"]["chi2_cc"]) == pytest.approx(121 / 12, abs=1e-4)
    assert float(mcnemar["specificity"]["exact_p"]) == pytest.approx(stats.binomtest(0, 3, 0.5).pvalue, rel=1e-3)  # 0.25: too few pairs


def test_counts_match_the_seed_independently(run) -> None:
    lesions = headline_lesions()
    units = rows(run, "units")
    assert len(units) == len(lesions)
    assert sum(r["reference_positive"] == "true" and r["read_b"] == "true" for r in units) == \
        sum(lesion.reference_positive and lesion.spect_positive for lesion in lesions)


def test_withdrawal_of_data_use_excludes_the_patients_units(actors, seeded, eager, django_capture_on_commit_callbacks) -> None:
    comparison, patients, _ = seeded
    consent_withdraw(actor=actors.coordinator_a, consent=patients[0].consents.get(), withdrawn_on=date(2022, 1, 1),
                     scope="withdraw_data_use", reason="family request")
    run = generate(actors.data_manager, "diagnostic", {"comparison": comparison.pk}, django_capture_on_commit_callbacks)
    expected = ComparisonUnit.objects.filter(comparison=comparison).exclude(patient=patients[0]).count()
    assert len(rows(run, "units")) == expected < 81


def test_investigator_sees_own_hospital_only(actors, seeded) -> None:
    comparison = seeded[0]
    params = authorise(actors.investigator_a, {"comparison": comparison.pk})
    report = build(actors.investigator_a, params, lambda p: None)
    units = report.sections[0].frame
    assert len(units) == ComparisonUnit.objects.filter(comparison=comparison, patient__hospital=actors.hospital_a).count()


def test_no_identifier_and_pseudonymous_keys(real_pdf, run, seeded) -> None:
    _, patients, idents = seeded
    forbidden = identifiers(patients, idents)
    for file in run.files.all():
        content = file_bytes(run, file.name)
        text = {"csv": lambda b: b.decode("utf-8"), "xlsx": lambda b: xlsx_text(b)[1], "pdf": pdf_strings}[file.format](content)
        assert not [value for value in forbidden if value in text], file.name
    assert rows(run, "units")[0]["unit"] == "U001" and rows(run, "units")[0]["patient"] == "P001"
    assert "Sensitivity and specificity" in pdf_strings(file_bytes(run, "diagnostic.pdf"))


def test_csv_byte_identical(actors, seeded, eager, django_capture_on_commit_callbacks) -> None:
    first = generate(actors.data_manager, "diagnostic", {"comparison": seeded[0].pk}, django_capture_on_commit_callbacks)
    second = generate(actors.data_manager, "diagnostic", {"comparison": seeded[0].pk}, django_capture_on_commit_callbacks)
    assert {f.name: f.sha256 for f in first.files.filter(format="csv")} == {f.name: f.sha256 for f in second.files.filter(format="csv")}


def test_bad_and_unseen_comparisons(actors, seeded) -> None:
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    from registry.errors import ApplicationError

    with pytest.raises(ApplicationError):
        authorise(actors.data_manager, {"comparison": "x"})
    with pytest.raises(Http404):
        authorise(actors.data_manager, {"comparison": 999_999})
    with pytest.raises(PermissionDenied):
        authorise(actors.nobody, {"comparison": seeded[0].pk})


def test_unread_units_are_noted_not_analysed(actors) -> None:
    patient = consented_patient(actors.coordinator_a, actors.hospital_a)
    comparison = reading_comparison_create(actor=actors.data_manager, name=NAME + " small", method_a="low", method_b="std", unit="patient")
    done = comparison_unit_create(actor=actors.investigator_a, comparison=comparison, patient=patient, reference_positive=True,
                                  reference_source="follow_up")
    unit_read_record(actor=actors.investigator_a, unit=done, method="a", positive=True)
    report = build(actors.data_manager, authorise(actors.data_manager, {"comparison": comparison.pk}), lambda p: None)
    assert len(report.sections[0].frame) == 0 and any("lack a read" in n for n in report.notes)


def test_query_count_does_not_grow_with_units(actors, seeded, django_assert_max_num_queries) -> None:
    params = authorise(actors.data_manager, {"comparison": seeded[0].pk})
    with django_assert_max_num_queries(6):
        build(actors.data_manager, params, lambda p: None)
