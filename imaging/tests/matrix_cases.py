"""Imaging endpoints (API and DICOMweb) in the site-isolation matrix (see tests/matrix.py)."""
import tempfile
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from imaging.models import DoseResult, ImagingStudy, Instance, IntakeReceipt, Preview, Series, SuvResult
from imaging.pipeline import series_step_run, step_names
from imaging.services.ingest import IncomingFile, ingest
from imaging.services.voi import voi_measure
from imaging.tests.helpers import child, pet_files
from registry.tests.matrix_cases import SEE_A
from registry.tests.matrix_cases import arrange as arrange_registry
from tests.matrix import AUTHENTICATED, Case, World, statuses

ADDERS_A = {"coordinator_a", "investigator_a", "data_manager"}
NOT_A = {"coordinator_b", "nobody"}
_PET: dict[str, bytes] = {}


def _side(world: World, side: str, coordinator: Any, hospital: Any) -> None:
    patient = child(coordinator, hospital)
    with tempfile.TemporaryDirectory() as tmp:
        files = pet_files(Path(tmp), patient, seed=7 if side == "a" else 8, n=2)
        _PET.setdefault("bytes", files[0].read_bytes())
        upload = ingest(actor=coordinator, patient=patient, source="api", files=[IncomingFile(p.name, p) for p in files])
    study = ImagingStudy.objects.get(patient=patient)
    series = Series.objects.get(study=study)
    # A deferred upload's receipt, filed into that upload (as imaging.services.receipts leaves it).
    receipt = IntakeReceipt.objects.create(patient=patient, received_by=coordinator, source="api", file="x.dcm", size=1,
                                           state="filed", upload=upload)
    world.rows.update({f"patient_{side}": patient, f"upload_{side}": upload, f"study_{side}": study, f"receipt_{side}": receipt,
                       f"series_{side}": series, f"instance_{side}": Instance.objects.filter(series=series).first()})


def arrange_imaging(world: World) -> None:
    arrange_registry(world)
    _side(world, "a", world.actors.coordinator_a, world.actors.hospital_a)
    _side(world, "b", world.actors.coordinator_b, world.actors.hospital_b)


def _analyse(world: World, side: str, coordinator: Any) -> None:
    """Run the pipeline steps in-process (the matrix does not execute on-commit callbacks) and measure one VOI."""
    series = world[f"series_{side}"]
    for step in step_names():
        series_step_run(series_id=series.pk, step=step)
    suv = SuvResult.objects.get(series=series)
    voi = voi_measure(actor=coordinator, series=series, shape="sphere", centre_mm=suv.suv_max_position_mm, radius_mm=20.0)
    world.rows.update({f"dose_{side}": DoseResult.objects.get(study=series.study), f"suv_{side}": suv,
                       f"preview_{side}": Preview.objects.filter(series=series).first(), f"voi_{side}": voi})


def arrange(world: World) -> None:
    """The analysis endpoints (CASES) need pipeline results and a VOI on each side."""
    arrange_imaging(world)
    _analyse(world, "a", world.actors.coordinator_a)
    _analyse(world, "b", world.actors.coordinator_b)


def _visible(prefix: str) -> dict[str, set[str]]:
    sides = {"coordinator_a": "a", "investigator_a": "a", "coordinator_b": "b", "monitor_a": "a", "data_manager": "ab",
             "nobody": ""}
    return {actor: {f"{prefix}{s}" for s in which} for actor, which in sides.items()}


def _dw(w: World, *parts: str) -> list[str]:
    inst = w["instance_a"]
    values = {"study": inst.series.study.study_uid, "series": inst.series.series_uid, "instance": inst.sop_instance_uid}
    return [values[p] for p in parts]


def _new_upload(w: World, actor: str) -> dict[str, Any]:
    return {"patient": w["patient_a"].study_id, "files": [SimpleUploadedFile("x.dcm", _PET["bytes"])]}


def _list(name: str, url: str) -> Case:
    return Case(f"{name} list", url, statuses(ok=AUTHENTICATED), universe=(f"{name}_a", f"{name}_b"),
                visible=_visible(f"{name}_"))


def _detail(name: str, url: str) -> Case:
    return Case(f"{name} detail", url, statuses(ok=SEE_A, hidden=NOT_A), args=lambda w: [w[f"{name}_a"].pk])


def _new_voi(w: World, actor: str) -> dict[str, Any]:
    return {"series": w["series_a"].pk, "shape": "sphere", "centre_mm": w["suv_a"].suv_max_position_mm, "radius_mm": 15.0}


def _new_measurement(w: World, actor: str) -> dict[str, Any]:
    inst = w["instance_a"]
    return {"context": {"page": "study", "study": w["study_a"].pk}, "target": "voi", "seriesInstanceUID": inst.series.series_uid,
            "sopInstanceUID": inst.sop_instance_uid, "tool": "length", "label": "node", "values": {"length_mm": 12.0},
            "points": [[0.0, 0.0, 0.0], [12.0, 0.0, 0.0]]}


# Analysis results (need the pipeline run: arranged by `arrange` above).
CASES: list[Case] = [
    _list("dose", "imaging-dose-list"), _detail("dose", "imaging-dose-detail"),
    Case("patient dose history", "imaging-patient-dose-history", statuses(ok=SEE_A, hidden=NOT_A),
         args=lambda w: [w["patient_a"].study_id]),
    _list("suv", "imaging-suv-list"), _detail("suv", "imaging-suv-detail"),
    _list("preview", "imaging-preview-list"), _detail("preview", "imaging-preview-detail"),
    Case("preview image", "imaging-preview-image", statuses(ok=SEE_A, hidden=NOT_A), args=lambda w: [w["preview_a"].pk]),
    _list("voi", "imaging-voi-list"), _detail("voi", "imaging-voi-detail"),
    Case("voi create", "imaging-voi-list", statuses(ok=ADDERS_A, ok_status=201, invalid={"coordinator_b"},
                                                   forbidden={"monitor_a", "nobody"}), method="post", data=_new_voi),
    # A viewer measurement of the study page (imaging/services/measurements.py): the page's study is out of scope (404)
    # for other hospitals; a monitor sees the study but records nothing (403).
    Case("viewer measurement save", "imaging-measurements",
         statuses(ok=ADDERS_A, ok_status=201, forbidden={"monitor_a"}, hidden=NOT_A), method="post", data=_new_measurement),
]
CLINICAL_CASES = [
    _list("upload", "imaging-upload-list"), _detail("upload", "imaging-upload-detail"),
    Case("upload DICOM", "imaging-upload-list",
         statuses(ok=ADDERS_A, ok_status=201, hidden={"coordinator_b"}, forbidden={"monitor_a", "nobody"}), method="post",
         format="multipart", data=_new_upload),
    _list("receipt", "imaging-receipt-list"), _detail("receipt", "imaging-receipt-detail"),
    _list("study", "imaging-study-list"), _detail("study", "imaging-study-detail"),
    Case("study release (not on hold)", "imaging-study-release",
         statuses(invalid=ADDERS_A, hidden=NOT_A, forbidden={"monitor_a"}), method="post",
         args=lambda w: [w["study_a"].pk], data=lambda w, actor: {"reason": "checked"}),
    # PATCH of a study: its acquisition protocol and sedation only (imaging.services.acquisition).
    Case("study acquisition patch", "imaging-study-detail", statuses(ok=ADDERS_A, hidden=NOT_A, forbidden={"monitor_a"}),
         method="patch", args=lambda w: [w["study_a"].pk], data=lambda w, actor: {"sedation": "general_anaesthesia"}),
    _list("series", "imaging-series-list"), _detail("series", "imaging-series-detail"),
    Case("series retry (not failed)", "imaging-series-retry", statuses(invalid=ADDERS_A, hidden=NOT_A, forbidden={"monitor_a"}),
         method="post", args=lambda w: [w["series_a"].pk]),
    _list("instance", "imaging-instance-list"), _detail("instance", "imaging-instance-detail"),
    Case("QIDO studies", "dicomweb-studies", statuses(ok=AUTHENTICATED)),
    Case("WADO study", "dicomweb-study", statuses(ok=SEE_A, hidden=NOT_A), args=lambda w: _dw(w, "study")),
    Case("QIDO series", "dicomweb-series-search", statuses(ok=SEE_A, hidden=NOT_A), args=lambda w: _dw(w, "study")),
    Case("WADO series", "dicomweb-series", statuses(ok=SEE_A, hidden=NOT_A), args=lambda w: _dw(w, "study", "series")),
    Case("WADO series metadata", "dicomweb-series-metadata", statuses(ok=SEE_A, hidden=NOT_A),
         args=lambda w: _dw(w, "study", "series")),
    Case("QIDO instances", "dicomweb-instances", statuses(ok=SEE_A, hidden=NOT_A), args=lambda w: _dw(w, "study", "series")),
    Case("WADO instance", "dicomweb-instance", statuses(ok=SEE_A, hidden=NOT_A),
         args=lambda w: _dw(w, "study", "series", "instance")),
    # DICOMweb completeness (issue 16): searches at every level, metadata, bulk data, frames, rendered, thumbnails.
    Case("QIDO all series", "dicomweb-all-series", statuses(ok=AUTHENTICATED)),
    Case("QIDO all instances", "dicomweb-all-instances", statuses(ok=AUTHENTICATED)),
    Case("QIDO study instances", "dicomweb-study-instances", statuses(ok=SEE_A, hidden=NOT_A), args=lambda w: _dw(w, "study")),
    *[Case(f"WADO {level} {what}", f"dicomweb-{level}-{what}", statuses(ok=SEE_A, hidden=NOT_A),
           args=lambda w, parts=parts: _dw(w, *parts))
      for level, parts in (("study", ("study",)), ("series", ("study", "series")), ("instance", ("study", "series", "instance")))
      for what in ("rendered", "thumbnail", *(("metadata",) if level != "series" else ()))],
    Case("WADO bulk data", "dicomweb-bulkdata", statuses(ok=SEE_A, hidden=NOT_A),
         args=lambda w: [*_dw(w, "study", "series", "instance"), "7FE00010"]),
    *[Case(f"WADO {name}", f"dicomweb-{name}", statuses(ok=SEE_A, hidden=NOT_A),
           args=lambda w: [*_dw(w, "study", "series", "instance"), "1"])
      for name in ("frames", "frames-rendered", "frames-thumbnail")],
]

# The DICOM network (issue 16): senders, the unmatched queue and scheduled exams, in a world with those rows.
from imaging.tests.network_matrix import NETWORK_CASES, arrange_network  # noqa: E402

CASES_IN_OTHER_WORLDS = [(arrange_network, NETWORK_CASES)]
