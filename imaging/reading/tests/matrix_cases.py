"""Endpoints of this app in the site-isolation matrix (see tests/matrix.py).

Score sheets follow the study's hospital (drafts only their reader's); reading sessions and results are for
programme-wide data managers; an assignment and its cases are its reader's alone (investigator_a reads
hospital B's series, which they cannot open through the imaging API).
"""
from datetime import date
from typing import Any

from imaging import synthetic
from imaging.models import ImagingStudy
from imaging.reading import dicomweb as case_dw
from imaging.reading.services.comparison import comparison_unit_create, reading_comparison_create
from imaging.reading.services.sessions import ItemInput, reading_session_create
from imaging.reading.services.sheets import score_sheet_create
from imaging.reading.tests import helpers as h
from imaging.services.ingest import IncomingFile, ingest
from imaging.tests.helpers import like
from registry.tests.matrix_cases import SEE_A
from registry.tests.matrix_cases import arrange as arrange_registry
from tests.matrix import AUTHENTICATED, HOSPITAL_MEMBERS, Case, World, statuses
from trials.services.setup import trial_membership_grant
from trials.tests.builders import enrol, quick_trial

NOT_A = {"coordinator_b", "nobody"}
EVERYONE_BUT_INV_A = {"coordinator_a", "coordinator_b", "monitor_a", "data_manager", "nobody"}
TRIAL_READERS = {"central_reader", "trial_monitor"}
EVERYONE_BUT_DM = {"coordinator_a", "investigator_a", "coordinator_b", "monitor_a", "nobody"}


SCORES = {"overall_quality": 4, "noise": 3, "lesion_conspicuity": 4, "diagnostic_confidence": 5}


def arrange(world: World) -> None:
    arrange_registry(world)
    a = world.actors
    reader2_a = h.investigator(a.hospital_a, "reader2_a")
    reader_b = h.investigator(a.hospital_b, "reader_b")
    # Patient A is a subject of trial T-R, where central_reader, trial_monitor and sponsor hold their roles.
    trial = quick_trial([a.hospital_a], code="T-R", agent_code="I123_MIBG")
    patient_a = enrol(a.coordinator_a, trial, a.hospital_a).patient
    for actor, role in (("central_reader", "central_reader"), ("trial_monitor", "monitor"), ("sponsor", "sponsor")):
        trial_membership_grant(actor=a.data_manager, user=getattr(a, actor), trial=trial, role=role)
    patient_b = h.patient_at(a.coordinator_b, a.hospital_b)
    study_a, study_b = h.study_of(patient_a), h.study_of(patient_b)
    study_a_late = h.study_of(patient_a, on=date(2021, 2, 1))
    world.rows.update({"patient_a": patient_a, "study_a": study_a, "study_b": study_b, "study_a_late": study_a_late})
    world.rows["sheet_a"] = h.submitted(a.investigator_a, study_a, "curie", [1, 0, 2, 0, 1, 0, 0, 1, 0, 1], "baseline")
    world.rows["sheet_a2"] = h.submitted(reader2_a, study_a, "curie", [1, 0, 2, 1, 1, 0, 0, 1, 0, 1], "baseline")
    world.rows["sheet_b"] = h.submitted(reader_b, study_b, "curie", 1, "baseline")
    world.rows["draft_a"] = score_sheet_create(actor=a.investigator_a, study=study_a_late, kind="curie",
                                               values=h.values("curie", 0), timepoint="post_induction")
    # investigator_a reads hospital B's series blind.
    session = h.paired_session(a.data_manager, [a.investigator_a], [patient_b], name="open")
    world.rows.update({"session": session, "assignment": session.assignments.get(),
                       "pair_series": [i.series for i in session.items.all()]})
    _arrange_comparison(world)


def _arrange_comparison(world: World) -> None:
    """A reading comparison (every hospital member sees it) with a unit at hospital A and one at hospital B."""
    a = world.actors
    comparison = reading_comparison_create(actor=a.data_manager, name="planar vs SPECT/CT", method_a="planar", method_b="SPECT/CT")
    world.rows["comparison"] = comparison
    world.rows["unit_a"] = comparison_unit_create(actor=a.investigator_a, comparison=comparison, patient=world["patient_a"],
                                                  label="left adrenal bed", reference_positive=True, reference_source="histopathology")
    world.rows["unit_b"] = comparison_unit_create(actor=a.data_manager, comparison=comparison, patient=world["study_b"].patient,
                                                  label="para-aortic node", reference_positive=False, reference_source="follow_up")


def _new_session(w: World, actor: str) -> dict[str, Any]:
    return {"name": "new", "items": [{"series": s.pk, "arm": "low" if "LOW" in s.description else "std"}
                                     for s in w.rows["pair_series"]], "readers": ["investigator_a"]}


kind = {"kind": "curie"}
CASES = [
    Case("reading scoring systems", "reading-scoring-systems", statuses(ok=AUTHENTICATED)),
    Case("reading sheet list", "reading-sheet-list", statuses(ok=AUTHENTICATED),
         universe=("sheet_a", "sheet_a2", "sheet_b", "draft_a"),
         visible={"coordinator_a": {"sheet_a", "sheet_a2"}, "investigator_a": {"sheet_a", "sheet_a2", "draft_a"},
                  "monitor_a": {"sheet_a", "sheet_a2"}, "coordinator_b": {"sheet_b"},
                  "data_manager": {"sheet_a", "sheet_a2", "sheet_b"}, "nobody": set(),
                  "central_reader": {"sheet_a", "sheet_a2"}, "trial_monitor": {"sheet_a", "sheet_a2"}}),
    Case("reading sheet detail", "reading-sheet-detail", statuses(ok={*SEE_A, *TRIAL_READERS}, hidden=NOT_A),
         args=lambda w: [w["sheet_a"].pk]),
    Case("reading draft detail (its reader only)", "reading-sheet-detail",
         statuses(ok={"investigator_a"}, hidden=EVERYONE_BUT_INV_A), args=lambda w: [w["draft_a"].pk]),
    Case("reading sheet start", "reading-sheet-list",
         statuses(ok={"investigator_a", "data_manager", "central_reader"}, ok_status=201,
                  forbidden={"coordinator_a", "coordinator_b", "monitor_a", "nobody", "trial_monitor", "sponsor"}),
         method="post", data=lambda w, actor: {"study": w["study_a"].pk, "kind": "siopen", "values": {}}),
    Case("reading draft update", "reading-sheet-detail", statuses(ok={"investigator_a"}, hidden=EVERYONE_BUT_INV_A),
         method="patch", args=lambda w: [w["draft_a"].pk], data=lambda w, actor: {"comment": "faint uptake"}),
    Case("reading submitted sheet update (author only, locked)", "reading-sheet-detail",
         statuses(invalid={"investigator_a"}, forbidden={"coordinator_a", "monitor_a", "data_manager", *TRIAL_READERS},
                  hidden=NOT_A),
         method="patch", args=lambda w: [w["sheet_a"].pk], data=lambda w, actor: {"comment": "x"}),
    Case("reading draft submit", "reading-sheet-submit", statuses(ok={"investigator_a"}, hidden=EVERYONE_BUT_INV_A),
         method="post", args=lambda w: [w["draft_a"].pk]),
    Case("reading consensus", "reading-sheet-consensus",
         statuses(ok={"data_manager", "central_reader"}, ok_status=201, invalid={"investigator_a"},
                  forbidden={"coordinator_a", "coordinator_b", "monitor_a", "nobody"}),
         method="post", data=lambda w, actor: {"study": w["study_a"].pk, "kind": "curie", "values": h.values("curie", 1)}),
    Case("reading study agreement", "reading-study-agreement", statuses(ok={*SEE_A, "central_reader"}, hidden=NOT_A),
         args=lambda w: [w["study_a"].pk], data=lambda w, actor: kind),
    Case("reading set agreement", "reading-agreement", statuses(ok=AUTHENTICATED), data=lambda w, actor: kind),
    Case("reading patient timeline", "reading-patient-timeline", statuses(ok=SEE_A, hidden=NOT_A),
         args=lambda w: [w["patient_a"].study_id], data=lambda w, actor: kind),
    Case("reading session list", "reading-session-list", statuses(ok=AUTHENTICATED), universe=("session",),
         visible={a: set() for a in EVERYONE_BUT_DM} | {"data_manager": {"session"}}),
    Case("reading session detail", "reading-session-detail", statuses(ok={"data_manager"}, hidden=EVERYONE_BUT_DM),
         args=lambda w: [w["session"].pk]),
    Case("reading session create", "reading-session-list",
         statuses(ok={"data_manager"}, ok_status=201, forbidden=EVERYONE_BUT_DM), method="post", data=_new_session),
    # Visible to the data manager, who is told that the reads are not all in (results: test_sessions.py).
    Case("reading session results", "reading-session-results", statuses(invalid={"data_manager"}, hidden=EVERYONE_BUT_DM),
         args=lambda w: [w["session"].pk]),
    Case("reading assignment list", "reading-assignment-list", statuses(ok=AUTHENTICATED),
         universe=("assignment",), visible={a: set() for a in EVERYONE_BUT_INV_A} | {"investigator_a": {"assignment"}}),
    Case("reading assignment detail", "reading-assignment-detail",
         statuses(ok={"investigator_a"}, hidden=EVERYONE_BUT_INV_A), args=lambda w: [w["assignment"].pk]),
    Case("reading case", "reading-assignment-case", statuses(ok={"investigator_a"}, hidden=EVERYONE_BUT_INV_A),
         args=lambda w: [w["assignment"].pk, 1]),
    Case("reading case image", "reading-assignment-case-image",
         statuses(ok={"investigator_a"}, hidden=EVERYONE_BUT_INV_A), args=lambda w: [w["assignment"].pk, 1, 0]),
    Case("reading case score", "reading-assignment-case", statuses(ok={"investigator_a"}, hidden=EVERYONE_BUT_INV_A),
         method="put", args=lambda w: [w["assignment"].pk, 1], data=lambda w, actor: SCORES),
    # Comparisons: the design is visible to every hospital member, defined by data managers; units and reads follow
    # the patient's hospital and are entered by investigators there and by data managers.
    Case("reading comparison list", "reading-comparison-list", statuses(ok=AUTHENTICATED), universe=("comparison",),
         visible={a: {"comparison"} for a in HOSPITAL_MEMBERS} | {"nobody": set()}),
    Case("reading comparison detail", "reading-comparison-detail", statuses(ok=HOSPITAL_MEMBERS, hidden={"nobody"}),
         args=lambda w: [w["comparison"].pk]),
    Case("reading comparison create", "reading-comparison-list",
         statuses(ok={"data_manager"}, ok_status=201, forbidden=EVERYONE_BUT_DM), method="post",
         data=lambda w, actor: {"name": f"low-dose vs standard ({actor})", "method_a": "standard", "method_b": "low-dose"}),
    Case("reading comparison unit list", "reading-comparison-unit-list", statuses(ok=AUTHENTICATED), universe=("unit_a", "unit_b"),
         visible={a: {"unit_a"} for a in SEE_A} | {"data_manager": {"unit_a", "unit_b"}, "coordinator_b": {"unit_b"}, "nobody": set()}),
    Case("reading comparison unit detail", "reading-comparison-unit-detail", statuses(ok=SEE_A, hidden=NOT_A),
         args=lambda w: [w["unit_a"].pk]),
    Case("reading comparison unit create", "reading-comparison-unit-list",
         statuses(ok={"investigator_a", "data_manager"}, ok_status=201,
                  forbidden={"coordinator_a", "monitor_a", "coordinator_b", "nobody"}), method="post",
         data=lambda w, actor: {"comparison": w["comparison"].pk, "patient": w["patient_a"].study_id, "label": f"node ({actor})",
                                "reference_positive": True, "reference_source": "histopathology"}),
    Case("reading comparison unit read", "reading-comparison-unit-reads",
         statuses(ok={"investigator_a", "data_manager"}, ok_status=201, forbidden={"coordinator_a", "monitor_a"}, hidden=NOT_A),
         method="post", args=lambda w: [w["unit_a"].pk],
         data=lambda w, actor: {"method": "b" if actor == "data_manager" else "a", "positive": True}),
]


def arrange_case_images(world: World) -> None:
    """A blinded session over real stored instances (a PET pair of hospital B's child, ingested), which investigator_a
    reads: the case's own DICOMweb root (imaging/reading/dicomweb.py) serves them under pseudonymous UIDs."""
    import tempfile
    from pathlib import Path

    arrange_registry(world)
    a = world.actors
    patient = h.patient_at(a.coordinator_b, a.hospital_b)
    child = like(patient)
    ctx = synthetic.study_context(patient=child, seed=71)
    pair = [synthetic.pet_series(tracer="F18_FDG", patient=child, seed=71, study=ctx, low_dose=low, n_slices=2, rows=8, cols=8,
                                 series_number=number) for low, number in ((True, 3), (False, 5))]
    with tempfile.TemporaryDirectory() as tmp:
        paths = synthetic.write_series([*pair[0], *pair[1]], tmp)
        ingest(actor=a.coordinator_b, patient=patient, source="api", files=[IncomingFile(p.name, Path(p)) for p in paths])
    study = ImagingStudy.objects.get(patient=patient)
    items = [ItemInput(study.series.get(series_number=number), arm) for number, arm in ((3, "low-dose"), (5, "standard-dose"))]
    session = reading_session_create(actor=a.data_manager, name="case images", items=items, readers=[a.investigator_a], seed=1)
    world.rows["image_case"] = session.assignments.get().cases.select_related("assignment", "item__series__study").get(position=1)


def _case_dw(w: World, *parts: str) -> list[object]:
    case = w["image_case"]
    names = case_dw.Pseudonyms(case)
    values = {"study": names.study_uid, "series": names.series_uid,
              "instance": names.of(case.item.series.instances.order_by("instance_number").first().sop_instance_uid), "frame": "1"}
    return [case.assignment_id, case.position, *(values[p] for p in parts)]


_CASE_READER = statuses(kind="dicomweb", ok={"investigator_a"}, hidden=EVERYONE_BUT_INV_A)
CASES_IN_OTHER_WORLDS = [(arrange_case_images, [
    Case("reading case DICOMweb series", "reading-case-dicomweb-series", _CASE_READER, args=lambda w: _case_dw(w, "study")),
    Case("reading case DICOMweb metadata", "reading-case-dicomweb-metadata", _CASE_READER,
         args=lambda w: _case_dw(w, "study", "series")),
    Case("reading case DICOMweb frames", "reading-case-dicomweb-frames", _CASE_READER,
         args=lambda w: _case_dw(w, "study", "series", "instance", "frame")),
])]
