"""The coordinator's imaging path (issue 16 item 5, issue 17's imaging "Ugly" items), through Django's test client:
upload started from the patient page, the patient search, the trial visit by name, one summary per study at the end,
the study page's links and warnings, studies on hold left out of the child's counts and doses, the DICOM senders page,
labels instead of codes, the time-scaled dose chart and one date format per locale."""
import re
from datetime import date
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils.formats import date_format

from conftest import Actors
from imaging.models import DicomNode, DoseResult, ImagingStudy, Instance, Series, Upload
from imaging.reading.tests import helpers as h
from imaging.services.network import dicom_node_for, dicom_node_register
from imaging.tests.helpers import as_upload, child, pet_files, sample
from registry.models import AuditEvent, Patient
from registry.tests.builders import client_of, consented_patient, identity, text
from registry.web.dose_chart import date_ticks, dose_chart
from trials.models import SubjectVisit
from trials.tests.builders import enrol, make_trial

pytestmark = pytest.mark.django_db

PET = "tcia-acrin-flt-breast-pet-1.dcm"  # an adult's scan: the wrong-patient guard holds it for a child
MR = "tcia-prostate-mri.dcm"  # refused (modality)
SC = "cornerstone-deflated-sc.dcm"  # a secondary capture: quarantined


@pytest.fixture
def patient(actors: Actors) -> Patient:
    return child(actors.coordinator_a, actors.hospital_a)


def _detail(p: Patient) -> str:
    return reverse("web-patient-detail", args=[p.study_id])


# 1. Upload from the patient page, and the patient search ----------------------------------------------------------

def test_patient_page_starts_an_upload_with_the_patient_chosen(actors: Actors, patient: Patient) -> None:
    body = text(client_of(actors.coordinator_a).get(_detail(patient)))
    link = f'{reverse("web-upload")}?patient={patient.study_id}'
    assert f'href="{link}"' in body and 'data-testid="upload-for-patient"' in body
    page = text(client_of(actors.coordinator_a).get(link))
    assert re.search(rf'<input[^>]*name="patient"[^>]*value="{patient.study_id}"', page)
    # A role that sees the child but may not add data (a monitor) gets no button.
    assert 'data-testid="upload-for-patient"' not in text(client_of(actors.monitor_a).get(_detail(patient)))


def test_patient_search_finds_study_ids_in_upload_scope_only_and_never_by_record_number(actors: Actors) -> None:
    mine = [child(actors.coordinator_a, actors.hospital_a) for _ in range(2)]
    mine.append(consented_patient(actors.coordinator_a, actors.hospital_a, ident=identity(record_number="MRN-SEARCH-77")))
    other = child(actors.coordinator_b, actors.hospital_b)
    client = client_of(actors.coordinator_a)
    url = reverse("web-upload-patients")
    found = [p["study_id"] for p in client.get(url, {"q": mine[1].study_id[-3:]}).json()["results"]]
    assert mine[1].study_id in found and other.study_id not in found
    everyone = [p["study_id"] for p in client.get(url, {"q": ""}).json()["results"]]
    assert sorted(everyone) == sorted(p.study_id for p in mine) and other.study_id not in everyone
    # Another hospital's study ID typed in full finds nothing; a record number is not searched (study IDs only).
    assert client.get(url, {"q": other.study_id}).json()["results"] == []
    assert client.get(url, {"q": "MRN-SEARCH"}).json()["results"] == []
    page = text(client.get(reverse("web-upload")))
    assert f'<option value="{mine[0].study_id}">' in page and 'list="patient-options"' in page
    assert "MRN-SEARCH" not in page and other.study_id not in page


def test_upload_accepts_the_study_id_and_refuses_another_hospitals(actors: Actors, patient: Patient, eager, tmp_path: Path) -> None:
    client = client_of(actors.coordinator_a)
    files = [as_upload(p) for p in pet_files(tmp_path, patient, n=2)]
    answer = client.post(reverse("web-upload"), {"patient": patient.study_id, "files": files}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 201 and Upload.objects.get().patient == patient
    study = ImagingStudy.objects.get()
    assert study.study_date is not None  # the page's script shows the date as the page does (the locale's short format)
    assert answer.json()["studies"][0]["date_label"] == date_format(study.study_date, "SHORT_DATE_FORMAT")
    refused = client_of(actors.coordinator_b).post(reverse("web-upload"), {"patient": patient.study_id, "files": [as_upload(sample(MR))]},
                                                   HTTP_ACCEPT="application/json")
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["patient"] and Upload.objects.count() == 1


# 2. The trial visit by name ---------------------------------------------------------------------------------------

@pytest.fixture
def visit(actors: Actors) -> SubjectVisit:
    trial = make_trial(actors.data_manager, [actors.hospital_a, actors.hospital_b])
    subject = enrol(actors.coordinator_a, trial, actors.hospital_a)
    from registry.tests.builders import make_registry_consent

    make_registry_consent(actors.coordinator_a, subject.patient)
    visit = SubjectVisit.objects.select_related("definition").get(subject=subject, definition__code="SCR")
    definition = visit.definition
    definition.name_en, definition.name_zh = "Cycle 1 day 8 — MIBG", "第1周期第8天 MIBG"
    definition.save(update_fields=["name_en", "name_zh"])
    return visit


def test_trial_visit_is_chosen_by_name(actors: Actors, visit: SubjectVisit, eager, tmp_path: Path) -> None:
    patient = visit.subject.patient
    client = client_of(actors.coordinator_a)
    page = text(client.get(reverse("web-upload"), {"patient": patient.study_id}))
    option = re.search(rf'<option value="{visit.pk}">([^<]*)</option>', page)
    assert option and "NB-T1 · Cycle 1 day 8 — MIBG" in option.group(1)
    assert 'type="number"' not in page  # no numeric id to type
    listed = client.get(reverse("web-upload-visits"), {"patient": patient.study_id}).json()["visits"]
    assert {"id": visit.pk, "label": option.group(1)} in listed
    assert client_of(actors.coordinator_b).get(reverse("web-upload-visits"), {"patient": patient.study_id}).status_code == 404
    zh = text(client.get(reverse("web-upload"), {"patient": patient.study_id}, headers={"accept-language": "zh-hans"}))
    assert "第1周期第8天 MIBG" in zh
    answer = client.post(reverse("web-upload"), {"patient": patient.study_id, "trial_visit_id": str(visit.pk),
                                                 "files": [as_upload(p) for p in pet_files(tmp_path, patient, n=2)]},
                         HTTP_ACCEPT="application/json")
    assert answer.status_code == 201 and ImagingStudy.objects.get().trial_visit == visit
    study_page = text(client.get(reverse("web-study-detail", args=[ImagingStudy.objects.get().pk])))
    assert "Cycle 1 day 8 — MIBG" in study_page


# 3. One summary per study -----------------------------------------------------------------------------------------

def test_upload_ends_with_one_summary_per_study(actors: Actors, patient: Patient, eager, tmp_path: Path) -> None:
    client = client_of(actors.coordinator_a)
    pets = pet_files(tmp_path, patient, n=3)
    files = [as_upload(p) for p in pets] + [as_upload(sample(PET)), as_upload(sample(MR)), as_upload(sample(SC))]
    body = text(client.post(reverse("web-upload"), {"patient": patient.study_id, "files": files}))
    studies = {s.pk: s for s in ImagingStudy.objects.all()}
    ready = next(s for s in studies.values() if s.tracer == "F18_FDG")
    held = next(s for s in studies.values() if s.status == ImagingStudy.Status.ON_HOLD)
    rows = dict(re.findall(r'data-testid="upload-study" data-study="(\d+)" data-status="(\w+)"', body))
    assert rows[str(ready.pk)] == "ready" and rows[str(held.pk)] == "on_hold"
    assert "3 new images accepted" in body and "Filed: the analysis runs now" in body
    assert "On hold:" in body and "may be another patient's" in body and held.hold_reasons[0] in body
    assert 'data-testid="upload-quarantined"' in body and "1 image quarantined" in body
    assert 'data-outcome="rejected"' in body and "MR" in re.search(r'data-testid="upload-not-filed".*?</section>', body, re.S).group(0)
    assert "6 files received" in body and reverse("web-study-detail", args=[ready.pk]) in body
    # The page's script sends a file per request, then asks for the summary of all its uploads together.
    again = client.post(reverse("web-upload"), {"patient": patient.study_id, "files": [as_upload(pets[0])]},
                        HTTP_ACCEPT="application/json").json()
    ids = [u.pk for u in Upload.objects.order_by("id")]
    assert again["upload"] == ids[-1]
    fragment = text(client.get(reverse("web-upload-summary"), {"upload": ids}))
    assert "<html" not in fragment and "7 files received" in fragment and "1 duplicate: already stored" in fragment
    assert re.findall(r'data-study="(\d+)"', fragment).count(str(ready.pk)) == 1
    # Another hospital's coordinator asking for these uploads learns nothing.
    assert 'data-study' not in text(client_of(actors.coordinator_b).get(reverse("web-upload-summary"), {"upload": ids}))


def test_summary_reads_a_fixed_number_of_queries(actors: Actors, patient: Patient, eager, tmp_path: Path,
                                                 django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    client = client_of(actors.coordinator_a)
    for seed in range(1, 4):
        client.post(reverse("web-upload"), {"patient": patient.study_id,
                                            "files": [as_upload(p) for p in pet_files(tmp_path, patient, seed=seed, n=4)]})
    ids = list(Upload.objects.values_list("pk", flat=True))
    with django_assert_max_num_queries(10):  # session, user, scope (2), uploads, instances, studies: not one per file or study
        body = text(client.get(reverse("web-upload-summary"), {"upload": ids}))
    assert body.count('data-testid="upload-study"') == 3


# 4. The study page: patient, score sheets, hold and quarantine ---------------------------------------------------

def test_study_page_links_to_the_patient_and_its_score_sheets(actors: Actors, patient: Patient) -> None:
    study = h.study_of(patient)  # 123I-MIBG: Curie and SIOPEN
    body = text(client_of(actors.coordinator_a).get(reverse("web-study-detail", args=[study.pk])))
    assert f'href="{_detail(patient)}"' in body
    assert f'href="{reverse("web-score-sheet", args=[study.pk, "curie"])}"' in body
    assert f'href="{reverse("web-score-sheet", args=[study.pk, "siopen"])}"' in body
    assert "123I-MIBG (iobenguane)" in body and "I123_MIBG" not in body
    fdg = h.study_of(patient, tracer="F18_FDG", modality="PT")  # no scoring system: no score sheet part
    assert 'data-testid="study-sheets"' not in text(client_of(actors.coordinator_a).get(reverse("web-study-detail", args=[fdg.pk])))


def test_study_page_shows_hold_and_quarantine(actors: Actors, patient: Patient, eager) -> None:
    client = client_of(actors.coordinator_a)
    client.post(reverse("web-upload"), {"patient": patient.study_id, "files": [as_upload(sample(SC))]})
    quarantined = Instance.objects.exclude(quarantine_reason="").get()
    body = text(client.get(reverse("web-study-detail", args=[quarantined.series.study_id])))
    assert 'data-testid="quarantine"' in body and quarantined.quarantine_reason in body and "1 image:" in body
    assert 'data-testid="study-badge-quarantine"' in body
    study = h.study_of(patient)
    ImagingStudy.objects.filter(pk=study.pk).update(status=ImagingStudy.Status.ON_HOLD, hold_reasons=["PatientSex differs."])
    held = text(client.get(reverse("web-study-detail", args=[study.pk])))
    assert 'data-testid="study-badge"' in held and 'data-testid="hold"' in held and 'data-testid="quarantine"' not in held


# 5. On hold: out of the counts, dose history and chart until released --------------------------------------------

def test_studies_on_hold_are_left_out_until_released(actors: Actors, patient: Patient) -> None:
    kept = h.study_of(patient, on=date(2020, 10, 1))
    DoseResult.objects.create(study=kept, radiopharmaceutical_msv=3.5, total_msv=3.5, complete=True)
    held = h.study_of(patient, on=date(2021, 1, 5))
    DoseResult.objects.create(study=held, radiopharmaceutical_msv=4.25, total_msv=4.25, complete=True)
    ImagingStudy.objects.filter(pk=held.pk).update(status=ImagingStudy.Status.ON_HOLD, hold_reasons=["differs"])
    client = client_of(actors.coordinator_a)
    body = text(client.get(_detail(patient)))
    assert "1 exam counted." in body and "3.50 mSv" in body and "7.75" not in body
    assert body.count("<circle") == 1  # the chart
    table = re.search(r'data-testid="imaging-table".*?</table></div>', body, re.S).group(0)
    assert reverse("web-study-detail", args=[held.pk]) not in table
    notice = re.search(r'data-testid="imaging-held".*?</div>', body, re.S).group(0)
    assert "1 study is on hold" in notice and reverse("web-study-detail", args=[held.pk]) in notice
    # The dose history (the API's selector) says the same.
    history = client.get(reverse("imaging-patient-dose-history", args=[patient.study_id])).json()
    assert history["cumulative_msv"] == 3.5 and len(history["exams"]) == 1
    # Released: counted everywhere.
    assert client.post(reverse("web-study-release", args=[held.pk]), {"reason": "Checked: the same child."}).status_code == 302
    body = text(client.get(_detail(patient)))
    assert "2 exams counted." in body and "7.75 mSv" in body and body.count("<circle") == 2 and 'data-testid="imaging-held"' not in body
    assert client.get(reverse("imaging-patient-dose-history", args=[patient.study_id])).json()["cumulative_msv"] == 7.75


# 7. Labels, the time axis, undated exams, one date format per locale ---------------------------------------------

def test_imaging_table_shows_labels_not_codes(actors: Actors, patient: Patient) -> None:
    h.study_of(patient, on=date(2020, 10, 1))
    body = text(client_of(actors.coordinator_a).get(_detail(patient)))
    table = re.search(r'data-testid="imaging-table".*?</table></div>', body, re.S).group(0)
    assert "123I-MIBG (iobenguane)" in table and "SPECT/CT" in table
    assert "I123_MIBG" not in table and "spect_ct" not in table


def test_dose_chart_x_axis_is_time_scaled() -> None:
    exams = [{"study_date": d, "cumulative_msv": m, "complete": True}
             for d, m in ((date(2020, 1, 1), 1.0), (date(2020, 1, 11), 2.0), (date(2021, 1, 1), 3.0))]
    chart = dose_chart(exams)
    assert chart is not None
    x = [p.x for p in chart.points]
    # 10 days then 356 days: the gaps are in that ratio (to the rounding of the pixel positions), not equal.
    assert (x[2] - x[1]) / (x[1] - x[0]) == pytest.approx(356 / 10, rel=0.05)
    ticks = [d for _x, d in chart.x_ticks]
    assert all(t.day == 1 for t in ticks) and 2 <= len(ticks) <= 6
    for tick_x, tick in chart.x_ticks:  # each tick sits where its date falls between the exams
        assert x[0] <= tick_x <= x[2]
        assert (tick_x - x[0]) / (x[2] - x[0]) == pytest.approx((tick - date(2020, 1, 1)).days / 366, abs=0.01)
    assert dose_chart([{"study_date": None, "cumulative_msv": 1.0, "complete": True}]) is None
    assert date_ticks(date(2020, 5, 5), date(2020, 5, 5)) == [date(2020, 5, 5)]


def test_undated_exams_are_listed_apart_not_on_the_chart(actors: Actors, patient: Patient) -> None:
    dated = h.study_of(patient, on=date(2020, 10, 1))
    DoseResult.objects.create(study=dated, radiopharmaceutical_msv=3.0, total_msv=3.0, complete=True)
    undated = h.study_of(patient)
    ImagingStudy.objects.filter(pk=undated.pk).update(study_date=None)
    DoseResult.objects.create(study=undated, radiopharmaceutical_msv=1.0, total_msv=1.0, complete=True)
    body = text(client_of(actors.coordinator_a).get(_detail(patient)))
    assert body.count("<circle") == 1 and ">?<" not in body
    table = re.search(r'data-testid="imaging-table".*?</table></div>', body, re.S).group(0)
    dated_at, apart_at = table.index(reverse("web-study-detail", args=[dated.pk])), table.index('data-testid="undated-exams"')
    assert dated_at < apart_at < table.index(reverse("web-study-detail", args=[undated.pk]))
    assert "Date not recorded" in table and "4.00 mSv" in body  # its dose is in the total
    # The dated exam's running total is its own (undated last on every database).
    assert re.search(r'data-date="2020-10-01"><title>10/01/2020: 3\.0 mSv', body)


def test_dates_in_one_format_per_locale(actors: Actors, patient: Patient) -> None:
    study = h.study_of(patient, on=date(2020, 10, 1))
    DoseResult.objects.create(study=study, radiopharmaceutical_msv=3.0, total_msv=3.0, complete=True)
    client = client_of(actors.coordinator_a)
    for lang, expected, foreign in (("en", "10/01/2020", "2020年10月1日"), ("zh-hans", "2020年10月1日", "10/01/2020")):
        for url in (_detail(patient), reverse("web-study-detail", args=[study.pk])):
            body = text(client.get(url, headers={"accept-language": lang}))
            section = body if "studies" in url else re.search(r'data-testid="imaging-panel".*?</section>', body, re.S).group(0)
            assert expected in section and foreign not in section and "2020-10-01<" not in section, (lang, url)


# 6. The DICOM senders page -----------------------------------------------------------------------------------------

def test_data_manager_registers_lists_deactivates_and_reactivates_a_sender(actors: Actors) -> None:
    dm = client_of(actors.data_manager)
    url = reverse("web-dicom-senders")
    answer = dm.post(url, {"hospital": actors.hospital_a.code, "ae_title": "PETCT_ROOM2", "address": "10.1.2.3",
                           "description": "PET/CT room 2"})
    assert answer.status_code == 302
    node = DicomNode.objects.get(ae_title="PETCT_ROOM2")
    assert (node.hospital, node.address, node.active) == (actors.hospital_a, "10.1.2.3", True)
    assert AuditEvent.objects.filter(action="register_dicom_node", object_id=str(node.pk)).exists()
    taken = dm.post(url, {"hospital": actors.hospital_a.code, "ae_title": "PETCT_ROOM2"})
    assert taken.status_code == 400 and "already registered" in text(taken)
    page = text(client_of(actors.coordinator_a).get(url))
    assert "PETCT_ROOM2" in page and 'data-testid="register-sender"' not in page
    assert "PETCT_ROOM2" not in text(client_of(actors.coordinator_b).get(url))
    active_url = reverse("web-dicom-sender-active", args=[node.pk])
    no_reason = dm.post(active_url, {"active": "false", "reason": ""})
    assert no_reason.status_code == 400 and DicomNode.objects.get(pk=node.pk).active
    assert client_of(actors.coordinator_a).post(active_url, {"active": "false", "reason": "x"}).status_code == 403
    assert dm.post(active_url, {"active": "false", "reason": "Scanner replaced."}).status_code == 302
    assert not DicomNode.objects.get(pk=node.pk).active
    assert dicom_node_for(calling_ae_title="PETCT_ROOM2", address="10.1.2.3") is None  # associations refused now
    event = AuditEvent.objects.get(action="deactivate_dicom_node")
    assert event.reason == "Scanner replaced." and event.after == {"active": False}
    again = dm.post(active_url, {"active": "false", "reason": "twice"})
    assert again.status_code == 400 and "already inactive" in text(again)
    assert dm.post(active_url, {"active": "true", "reason": "Back in service."}).status_code == 302
    assert dicom_node_for(calling_ae_title="PETCT_ROOM2", address="10.1.2.3") is not None


def test_senders_page_is_linked_from_the_unmatched_queue(actors: Actors) -> None:
    dicom_node_register(actor=actors.data_manager, hospital=actors.hospital_b, ae_title="B_PACS")
    body = text(client_of(actors.coordinator_a).get(reverse("web-dicom-unmatched")))
    assert f'href="{reverse("web-dicom-senders")}"' in body
    assert "B_PACS" not in text(client_of(actors.coordinator_a).get(reverse("web-dicom-senders")))


def test_pending_series_of_a_held_study_do_not_count_either(actors: Actors, patient: Patient) -> None:
    # A held study without a dose yet would make the history "incomplete"; on hold, it must not.
    held = h.study_of(patient, on=date(2021, 1, 5))
    ImagingStudy.objects.filter(pk=held.pk).update(status=ImagingStudy.Status.ON_HOLD)
    Series.objects.filter(study=held).update(pipeline_state=Series.PipelineState.HELD)
    body = text(client_of(actors.coordinator_a).get(_detail(patient)))
    assert "incomplete" not in body and "No imaging studies yet." not in body and 'data-testid="imaging-held"' in body


def test_senders_page_queries_do_not_grow_and_it_renders_in_chinese(actors: Actors, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for n in range(6):
        dicom_node_register(actor=actors.data_manager, hospital=actors.hospital_a, ae_title=f"NODE_{n}")
    client = client_of(actors.data_manager)
    with django_assert_max_num_queries(10):  # session, user, scope (2), senders, the changeable ones, hospitals of the form, session save (3)
        body = text(client.get(reverse("web-dicom-senders")))
    assert body.count('data-testid="sender"') == 6
    zh = client.get(reverse("web-dicom-senders"), headers={"accept-language": "zh-hans"})
    assert zh.status_code == 200 and 'lang="zh-hans"' in text(zh)


def test_upload_page_queries_do_not_grow_with_patients(actors: Actors, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for _ in range(8):
        child(actors.coordinator_a, actors.hospital_a)
    client = client_of(actors.coordinator_a)
    with django_assert_max_num_queries(9):  # session, user, scope (2), any patient, the first 50 study IDs, session save (3)
        assert client.get(reverse("web-upload")).status_code == 200
    with django_assert_max_num_queries(8):  # session, user, scope (2), one search, session save (3)
        assert len(client.get(reverse("web-upload-patients"), {"q": actors.hospital_a.code}).json()["results"]) == 8
