"""The low-dose validation report (issue 18 item 5): its numbers are the stored evaluations (PairMetrics) or numpy's
summaries of them, its Bland-Altman limits are numpy's, each pre-declared criterion's line says met / not met as the
stored judgements say, the zh-hans run says it in Chinese, and nothing identifying leaves."""
import csv
import io
from datetime import date
from typing import Any

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from imaging.lowdose.evaluation import _judge
from imaging.lowdose.models import EvaluationPair, EvaluationProtocol, PairMetrics
from imaging.lowdose.services import protocol_create
from imaging.models import ImagingStudy, Series
from registry.errors import ApplicationError
from registry.services.consent import consent_withdraw
from registry.tests.builders import consented_patient, identity
from reports import renderers
from reports.builders.lowdose_validation import authorise, build
from reports.models import ReportRun
from reports.tests.helpers import csv_text, file_bytes, generate, identifiers, pdf_strings, xlsx_text

pytestmark = pytest.mark.django_db

CRITERIA = [{"metric": "voi_suv_max_bias_percent", "max_abs": 10}, {"metric": "ssim", "min": 0.9}, {"metric": "nrmse", "max": 0.2},
            {"metric": "psnr_db", "min": 30}]
# Per pair: hospital, study year, SSIM, NRMSE, whole-body SUVmax bias %, lesion VOIs as (reference SUVmax, mean, peak) and the
# test's ratio to the reference. SSIM 0.88 in the third pair fails "SSIM >= 0.9"; no PSNR is stored (identical images in the
# mask would give none), so "PSNR >= 30" cannot be judged; the fourth pair has no lesion.
PAIRS = [
    ("a", 2024, 0.95, 0.08, -3.0, [((6.0, 3.1, 4.9), 0.95), ((9.5, 4.0, 8.1), 1.04)]),
    ("a", 2024, 0.93, 0.11, 2.5, [((3.2, 1.9, 2.7), 1.08)]),
    ("a", 2025, 0.88, 0.15, -6.0, [((12.0, 5.5, 10.2), 0.93), ((4.4, 2.2, 3.8), 1.02), ((7.7, 3.3, 6.6), 0.97)]),
    ("b", 2025, 0.97, 0.05, 1.0, []),
]


def _voi(n: int, ref: tuple[float, float, float], ratio: float) -> dict[str, Any]:
    keys = ("suv_max", "suv_mean", "suv_peak")
    reference = dict(zip(keys, ref, strict=True))
    # Each statistic moves a little differently, as they would in a noisier image.
    test = {k: v * ratio * (1 + 0.01 * i) for i, (k, v) in enumerate(reference.items())}
    return {"voi": n, "label": f"left adrenal {n}", "reference": reference, "test": test,
            "bias_percent": {k: 100 * (test[k] - reference[k]) / reference[k] for k in keys}}


def _series(study: ImagingStudy, k: int) -> Series:
    return Series.objects.create(study=study, series_uid=f"{study.study_uid}.{k}", modality="PT", series_number=k,
                                 frame_of_reference_uid="1.2.3")


def make_pairs(actors: Any, protocol: EvaluationProtocol, specs: list[tuple], *, idents: list[dict[str, str]] | None = None,
               uid: int = 0) -> list[EvaluationPair]:
    pairs = []
    for n, (site, year, ssim, nrmse, wb, vois) in enumerate(specs):
        hospital, actor = (actors.hospital_a, actors.coordinator_a) if site == "a" else (actors.hospital_b, actors.coordinator_b)
        patient = consented_patient(actor, hospital, **({"ident": idents[n]} if idents else {}))
        study = ImagingStudy.objects.create(patient=patient, study_uid=f"2.25.1818{uid}{n}", study_date=date(year, 3, 1 + n),
                                            tracer="F18_FDG", modality_group="pet_ct", status=ImagingStudy.Status.READY)
        pair = EvaluationPair.objects.create(protocol=protocol, reference=_series(study, 1), test=_series(study, 2), source="manual",
                                             requested_by=actors.data_manager, status="succeeded", progress=100)
        stored = [_voi(v, ref, ratio) for v, (ref, ratio) in enumerate(vois, start=1)]
        values: dict[str, list[Any]] = {"nrmse": [nrmse], "psnr_db": [None], "ssim": [ssim], "suv_max_bias_percent": [wb]}
        for key in ("suv_max", "suv_mean", "suv_peak"):
            values[f"voi_{key}_bias_percent"] = [v["bias_percent"][key] for v in stored]
        PairMetrics.objects.create(pair=pair, grid="same grid", n_voxels=5000 + n, nrmse=nrmse, psnr_db=None, ssim=ssim,
                                   suv_max_bias_percent=wb, liver_snr_reference=8.0 + n, liver_snr_test=6.0 + n / 2,
                                   liver_cv_reference=1 / (8.0 + n), liver_cv_test=1 / (6.0 + n / 2), vois=stored,
                                   criteria=_judge(protocol.acceptance_criteria, values), method_version="lowdose/nbnm-2026.1+voi/1")
        pairs.append(pair)
    return pairs


@pytest.fixture
def world(actors):  # type: ignore[no-untyped-def]
    protocol = protocol_create(actor=actors.data_manager, name="One sixth vs standard", test_role="low_activity",
                               acceptance_criteria=CRITERIA)
    idents = [identity() for _ in PAIRS]
    pairs = make_pairs(actors, protocol, PAIRS, idents=idents)
    # A pair still pending: counted in a note, not analysed.
    pending = make_pairs(actors, protocol, [("a", 2025, 0.5, 0.9, 50.0, [])], uid=9)[0]
    PairMetrics.objects.filter(pair=pending).delete()
    EvaluationPair.objects.filter(pk=pending.pk).update(status="pending")
    return protocol, pairs, idents


@pytest.fixture
def run(actors, world, eager, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    return generate(actors.data_manager, "lowdose_validation", {"protocol": world[0].pk}, django_capture_on_commit_callbacks)


def rows(run: ReportRun, section: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_text(run, section))))


def num(text: str) -> float | None:
    return None if text == "" else float(text)


def stored(pairs: list[EvaluationPair]) -> list[PairMetrics]:
    return [PairMetrics.objects.get(pair=p) for p in pairs]


def test_each_pair_row_is_its_stored_evaluation(run, world) -> None:
    metrics = stored(world[1])
    table = rows(run, "pairs")
    assert [r["pair"] for r in table] == ["E001", "E002", "E003", "E004"]  # the pending pair is not analysed
    for row, m in zip(table, metrics, strict=True):
        for field in ("nrmse", "ssim", "suv_max_bias_percent", "liver_snr_reference", "liver_snr_test", "liver_cv_reference",
                      "liver_cv_test"):
            assert num(row[field]) == pytest.approx(getattr(m, field), abs=5e-5), field
        assert row["psnr_db"] == "" and int(row["n_voxels"]) == m.n_voxels and row["method_version"] == m.method_version
        assert int(row["lesion_vois"]) == len(m.vois)
    assert [r["hospital"] for r in table] == ["AAA", "AAA", "AAA", "BBB"] and table[2]["year"] == "2025"
    vois = rows(run, "lesion_vois")
    expected = [v for m in metrics for v in m.vois]
    assert len(vois) == len(expected) == 6 and vois[0]["voi"] == "E001-L1"
    for row, v in zip(vois, expected, strict=True):
        for key in ("suv_max", "suv_mean", "suv_peak"):
            assert num(row[f"{key}_reference"]) == pytest.approx(v["reference"][key], abs=5e-5)
            assert num(row[f"{key}_test"]) == pytest.approx(v["test"][key], abs=5e-5)
            assert num(row[f"voi_{key}_bias_percent"]) == pytest.approx(v["bias_percent"][key], abs=5e-5)
    assert any("1 pair(s) without stored metrics" in n for n in run.result["notes"])


def test_distributions_are_numpys_over_the_stored_values(run, world) -> None:
    metrics = stored(world[1])
    table = {r["metric"]: r for r in rows(run, "metric_distributions")}
    columns = {m: [getattr(p, m) for p in metrics] for m in ("nrmse", "ssim", "suv_max_bias_percent", "liver_snr_test", "liver_cv_reference")}
    for key in ("suv_max", "suv_mean", "suv_peak"):
        columns[f"voi_{key}_bias_percent"] = [v["bias_percent"][key] for p in metrics for v in p.vois]
    for metric, values in columns.items():
        arr = np.asarray(values, dtype=float)
        row = table[metric]
        assert int(row["n"]) == arr.size
        for column, expected in (("median", np.median(arr)), ("q1", np.percentile(arr, 25)), ("q3", np.percentile(arr, 75)),
                                 ("min", arr.min()), ("max", arr.max())):
            assert num(row[column]) == pytest.approx(expected, abs=5e-5), (metric, column)
    assert table["psnr_db"]["n"] == "0" and table["psnr_db"]["median"] == ""


def test_bland_altman_bias_and_limits_are_numpys(run, world) -> None:
    metrics = stored(world[1])
    table = {(r["measure"], r["difference_in"]): r for r in rows(run, "suv_agreement")}
    vois = [v for m in metrics for v in m.vois]
    for key in ("suv_max", "suv_mean", "suv_peak"):
        ref = np.array([v["reference"][key] for v in vois])
        test = np.array([v["test"][key] for v in vois])
        for scale, d in (("suv", test - ref), ("percent", np.array([v["bias_percent"][key] for v in vois]))):
            row = table[(key, scale)]
            sd = d.std(ddof=1)
            assert int(row["n"]) == d.size == 6
            assert num(row["bias"]) == pytest.approx(d.mean(), abs=5e-5)
            assert num(row["sd"]) == pytest.approx(sd, abs=5e-5)
            assert num(row["lower_loa"]) == pytest.approx(d.mean() - 1.96 * sd, abs=5e-5)
            assert num(row["upper_loa"]) == pytest.approx(d.mean() + 1.96 * sd, abs=5e-5)
        assert num(table[(key, "suv")]["mean_reference"]) == pytest.approx(ref.mean(), abs=5e-5)
    whole = np.array([m.suv_max_bias_percent for m in metrics])
    assert num(table[("whole_body_suv_max", "percent")]["bias"]) == pytest.approx(whole.mean(), abs=5e-5)
    assert run.files.filter(name="bland_altman.svg").exists()


def test_each_criterion_is_judged_as_the_stored_evaluations_say(run, world) -> None:
    metrics = stored(world[1])
    table = rows(run, "conclusions")
    assert [r["metric"] for r in table] == [c["metric"] for c in CRITERIA]
    for row, criterion in zip(table, CRITERIA, strict=True):
        judged = [j for m in metrics for j in m.criteria if j["metric"] == criterion["metric"] and j["met"] is not None]
        expected = None if not judged else all(j["met"] for j in judged)
        assert row["met"] == {True: "true", False: "false", None: ""}[expected], criterion
        assert int(row["pairs_judged"]) == len(judged) and int(row["pairs_met"]) == sum(j["met"] for j in judged)
    by_metric = {r["metric"]: r for r in table}
    # Lesion SUVmax within +/-10 % in the three pairs with a lesion (the worst: +8 % in the second pair).
    assert by_metric["voi_suv_max_bias_percent"]["met"] == "true"
    assert num(by_metric["voi_suv_max_bias_percent"]["worst_value"]) == pytest.approx(8.0)
    assert by_metric["voi_suv_max_bias_percent"]["conclusion"].startswith("|Lesion SUVmax bias| < 10 %: met.")
    assert "1 evaluated pair(s) without this value are not counted" in by_metric["voi_suv_max_bias_percent"]["conclusion"]
    assert by_metric["ssim"]["met"] == "false" and by_metric["ssim"]["conclusion"] == (
        "SSIM ≥ 0.9: not met. 3 of the 4 evaluated pairs with this value meet it (worst 0.88).")
    assert by_metric["nrmse"]["met"] == "true"
    assert by_metric["psnr_db"]["met"] == "" and "not judged" in by_metric["psnr_db"]["conclusion"]


def test_the_zh_run_concludes_in_chinese(actors, world, eager, django_capture_on_commit_callbacks) -> None:
    run = generate(actors.data_manager, "lowdose_validation", {"protocol": world[0].pk, "language": "zh-hans"},
                   django_capture_on_commit_callbacks)
    lines = {r["metric"]: r["conclusion"] for r in rows(run, "conclusions")}
    assert lines["ssim"] == "SSIM ≥ 0.9：未达到。具有该数值的 4 对已评估配对中有 3 对满足（最差值 0.88）。"
    assert lines["voi_suv_max_bias_percent"].startswith("|病灶 SUVmax 偏倚| < 10 %：达到。")
    assert lines["psnr_db"].endswith("无法判断。没有已评估配对具有该数值。")
    assert "参考：标准活度，完整采集时间；测试：" in run.result["notes"][0]
    _, text = xlsx_text(file_bytes(run, "lowdose_validation.xlsx"))
    assert "SSIM ≥ 0.9：未达到。" in text and "达到" in text and "结论" in text  # the heading of the conclusion column
    params = authorise(actors.data_manager, {"protocol": world[0].pk})
    report = build(actors.data_manager, {**params, "language": "zh-hans"}, lambda p: None)
    report.language = "zh-hans"
    html = renderers.to_html(report)
    assert "低剂量验证报告（One sixth vs standard）" in html and "预先声明的验收标准结论" in html and "：未达到。" in html


def test_reader_results_are_the_reader_studys(actors, world, monkeypatch) -> None:
    results = [{"criterion": "image_quality", "label": "Image quality (1-5)", "n": 12, "reference_median": 4.0, "test_median": 4.0,
                "median_difference": 0.0, "ci_low": -0.5, "ci_high": 0.5, "wilcoxon_p": 0.000488, "agreement": 0.71,
                "agreement_method": "weighted kappa"}]
    asked: list[int] = []

    def reader_results(protocol: EvaluationProtocol) -> list[dict[str, Any]]:
        asked.append(protocol.pk)
        return results

    protocol = world[0]
    # No reader study of the protocol is complete: an empty section, and a note that says why.
    report = build(actors.data_manager, authorise(actors.data_manager, {"protocol": protocol.pk}), lambda p: None)
    assert next(s.frame for s in report.sections if s.key == "reader_results").empty
    assert any("no reader-study session of this protocol is complete" in n for n in report.notes)
    monkeypatch.setattr("imaging.lowdose.reader_study.reader_results", reader_results)
    report = build(actors.data_manager, authorise(actors.data_manager, {"protocol": protocol.pk}), lambda p: None)
    frame = next(s.frame for s in report.sections if s.key == "reader_results")
    assert asked == [protocol.pk]
    row = frame.iloc[0].to_dict()
    assert {k: row[k] for k in ("criterion", "n", "median_difference", "ci_low", "ci_high", "agreement")} == \
        {"criterion": "image_quality", "n": 12, "median_difference": 0.0, "ci_low": -0.5, "ci_high": 0.5, "agreement": 0.71}
    assert row["wilcoxon_p"] == "0.000488"
    # A site investigator does not hold the reading sessions (data managers of every hospital do): no reader section.
    report = build(actors.investigator_a, authorise(actors.investigator_a, {"protocol": protocol.pk}), lambda p: None)
    assert "reader_results" not in {s.key for s in report.sections} and asked == [protocol.pk]
    assert any("Reader results are shown to data managers" in n for n in report.notes)


def test_scope_hospitals_dates_and_withdrawal(actors, world) -> None:
    protocol, pairs, _ = world
    report = build(actors.investigator_a, authorise(actors.investigator_a, {"protocol": protocol.pk}), lambda p: None)
    pair_table = next(s.frame for s in report.sections if s.key == "pairs")
    assert list(pair_table["hospital"]) == ["AAA", "AAA", "AAA"]
    params = authorise(actors.data_manager, {"protocol": protocol.pk, "hospitals": ["AAA"], "study_from": "2025-01-01"})
    assert len(next(s.frame for s in build(actors.data_manager, params, lambda p: None).sections if s.key == "pairs")) == 1
    patient = pairs[0].reference.study.patient
    consent_withdraw(actor=actors.coordinator_a, consent=patient.consents.get(), withdrawn_on=date(2024, 1, 1),
                     scope="withdraw_data_use", reason="family request")
    report = build(actors.data_manager, authorise(actors.data_manager, {"protocol": protocol.pk}), lambda p: None)
    assert len(next(s.frame for s in report.sections if s.key == "pairs")) == 3


def test_who_may_ask_and_bad_parameters(actors, world) -> None:
    protocol = world[0]
    for user in (actors.sponsor, actors.monitor_a, actors.nobody):
        with pytest.raises(PermissionDenied):
            authorise(user, {"protocol": protocol.pk})
    with pytest.raises(Http404):
        authorise(actors.data_manager, {"protocol": 999_999})
    for bad in ({"protocol": "x"}, {"protocol": True}, {"protocol": protocol.pk, "hospitals": ["BBB"]},
                {"protocol": protocol.pk, "study_from": "2025-02-01", "study_to": "2025-01-01"}, {"protocol": protocol.pk, "x": 1}):
        user = actors.investigator_a if bad.get("hospitals") else actors.data_manager
        with pytest.raises(ApplicationError):
            authorise(user, bad)


def test_no_identifier_leaves(real_pdf, run, world) -> None:
    _, pairs, idents = world
    patients = [p.reference.study.patient for p in pairs]
    forbidden = identifiers(patients, idents) + [p.reference.study.study_uid for p in pairs] + ["left adrenal"]
    for file in run.files.all():
        content = file_bytes(run, file.name)
        text = {"csv": lambda b: b.decode("utf-8"), "xlsx": lambda b: xlsx_text(b)[1], "pdf": pdf_strings,
                "svg": lambda b: b.decode("utf-8")}[file.format](content)
        assert not [value for value in forbidden if value in text], file.name
    assert "Conclusions on the pre-declared acceptance criteria" in pdf_strings(file_bytes(run, "lowdose_validation.pdf"))


def test_queries_do_not_grow_with_pairs(actors, world, django_assert_max_num_queries) -> None:
    protocol = world[0]
    params = authorise(actors.data_manager, {"protocol": protocol.pk})
    # Measured 3 (the protocol, the pairs with their metrics, the reader study's latest session) once the actor's
    # memberships are known; 2 more when they are not yet.
    with django_assert_max_num_queries(5):
        build(actors.data_manager, params, lambda p: None)
    with CaptureQueriesContext(connection) as before:
        build(actors.data_manager, params, lambda p: None)
    make_pairs(actors, protocol, PAIRS * 3, uid=5)
    with CaptureQueriesContext(connection) as after:
        report = build(actors.data_manager, params, lambda p: None)
    assert len(next(s.frame for s in report.sections if s.key == "pairs")) == 16
    assert len(after.captured_queries) == len(before.captured_queries)


def test_the_request_page_offers_the_protocols_and_queues_a_run(client, actors, world) -> None:
    from django.urls import reverse

    protocol = world[0]
    client.force_login(actors.investigator_a)
    page = client.get(reverse("web-report-new", args=["lowdose_validation"]))
    assert page.status_code == 200 and f'<option value="{protocol.pk}">One sixth vs standard</option>' in page.content.decode()
    response = client.post(reverse("web-report-new", args=["lowdose_validation"]),
                           {"protocol": protocol.pk, "study_from": "2024-01-01", "language": "zh-hans"})
    assert response.status_code == 302
    run = ReportRun.objects.get(kind="lowdose_validation")
    assert run.params == {"protocol": protocol.pk, "hospitals": ["AAA"], "as_of": run.params["as_of"], "study_from": "2024-01-01",
                          "study_to": None, "language": "zh-hans"}
    refused = client.post(reverse("web-report-new", args=["lowdose_validation"]), {"protocol": protocol.pk, "hospitals": ["BBB"]})
    assert refused.status_code == 400


def test_reader_results_of_a_complete_reader_study_are_in_the_report(actors) -> None:
    """The real reader study (imaging.lowdose.reader_study), scored by two readers as its own tests score it: the report's
    section is its reader_results, criterion by criterion."""
    import pandas as pd

    from imaging.lowdose.reader_study import reader_results
    from reports.tests.test_lowdose_reader_criteria import _scored_reader_study

    protocol = _scored_reader_study(actors, [])
    expected = reader_results(protocol)
    assert len(expected) == 6
    report = build(actors.data_manager, authorise(actors.data_manager, {"protocol": protocol.pk}), lambda p: None)
    frame = next(s.frame for s in report.sections if s.key == "reader_results")
    assert list(frame["criterion"]) == [r["criterion"] for r in expected]
    for row, want in zip(frame.to_dict("records"), expected, strict=True):
        for column in ("n", "reference_median", "test_median", "median_difference", "ci_low", "ci_high", "ci_confidence", "agreement"):
            assert (want[column] is None and pd.isna(row[column])) or row[column] == pytest.approx(want[column]), column
        assert row["wilcoxon_p"] == f"{want['wilcoxon_p']:.4g}" and row["agreement_method"] == want["agreement_method"]
    # Pairs without stored metrics are not analysed: six pairs, none in the tables, all counted in a note.
    assert any("6 pair(s) without stored metrics" in n for n in report.notes)
