"""Imaging pages in the site-isolation matrix (see tests/matrix.py): upload, the study page and its polled part,
release, and preview images. The world is the imaging API's analysed one (imaging/tests/matrix_cases.py)."""
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from imaging.tests import matrix_cases as api
from imaging.tests.matrix_cases import arrange  # noqa: F401  (the world these cases run in)
from tests.matrix import AUTHENTICATED, Case, World, page_case, statuses

SEE_A = {"coordinator_a", "investigator_a", "monitor_a", "data_manager"}
NOT_A = {"coordinator_b", "nobody"}
study_arg = lambda w: [w["study_a"].pk]  # noqa: E731


def _upload(w: World, actor: str) -> dict[str, Any]:
    return {"patient": str(w["patient_a"].pk), "files": [SimpleUploadedFile("x.dcm", api._PET["bytes"])]}


CASES: list[Case] = [
    # The form offers only the patients the user may upload for (none: an empty form).
    page_case("upload page", "web-upload", statuses(kind="page", ok=AUTHENTICATED)),
    # The result is shown on the page (200); a patient outside the user's upload scope is not among the choices (400).
    page_case("upload", "web-upload", statuses(kind="page write", ok=api.ADDERS_A, ok_status=200,
                                               invalid={"coordinator_b", "monitor_a", "nobody"}),
              method="post", data=_upload),
    page_case("study page", "web-study-detail", statuses(kind="page", ok=SEE_A, hidden=NOT_A), args=study_arg),
    page_case("study progress fragment", "web-study-progress", statuses(kind="page", ok=SEE_A, hidden=NOT_A), args=study_arg),
    # The study is not on hold: refused by the service with its message (400) for those who may release.
    page_case("study release (not on hold)", "web-study-release",
              statuses(kind="page write", invalid=api.ADDERS_A, forbidden={"monitor_a"}, hidden=NOT_A),
              method="post", args=study_arg, data=lambda w, actor: {"reason": "checked"}),
    # The exam's protocol and sedation set by hand: those who may change the study (coordinators, investigators, data
    # managers of its hospital); a monitor sees the study but may not (403).
    page_case("study acquisition (protocol, sedation)", "web-study-acquisition",
              statuses(kind="page write", ok=api.ADDERS_A, forbidden={"monitor_a"}, hidden=NOT_A), method="post", args=study_arg,
              data=lambda w, actor: {"acquisition_protocol": "standard", "sedation": "none"}),
    # The programme's dose saved (imaging.lowdose.web.dose_saving): a summary over the PET exams each actor may see, by
    # hospital code (no child named); a user without a role gets an empty table.
    page_case("lowdose dose saved page", "web-lowdose-dose-saving", statuses(kind="page", ok=AUTHENTICATED), universe=("dose_a", "dose_b"),
              row_id=lambda d: f'data-hospital="{d.study.patient.hospital.code}"',
              visible={"coordinator_a": {"dose_a"}, "investigator_a": {"dose_a"}, "monitor_a": {"dose_a"}, "coordinator_b": {"dose_b"},
                       "data_manager": {"dose_a", "dose_b"}, "nobody": set()}),
    page_case("preview image", "web-preview-image", statuses(kind="file", ok=SEE_A, hidden=NOT_A),
              args=lambda w: [w["preview_a"].pk]),
    # The upload page's patient search: study IDs of the patients the user may upload for, nobody else's.
    Case("web: upload patient search", "web-upload-patients", statuses(kind="page", ok=AUTHENTICATED),
         data=lambda w, actor: {"q": ""}, universe=("patient_a", "patient_b"), id_field="study_id", row_id=lambda p: p.study_id,
         visible={"coordinator_a": {"patient_a"}, "investigator_a": {"patient_a"}, "monitor_a": set(), "coordinator_b": {"patient_b"},
                  "data_manager": {"patient_a", "patient_b"}, "nobody": set()}),
    # The chosen patient's trial visits: a patient the user may not upload for is 404.
    page_case("upload visits", "web-upload-visits", statuses(kind="page", ok=api.ADDERS_A, hidden={"coordinator_b", "monitor_a", "nobody"}),
              data=lambda w, actor: {"patient": w["patient_a"].study_id}),
    # The summary of uploads: each actor sees the studies of the uploads inside their scope, and only those.
    page_case("upload summary", "web-upload-summary", statuses(kind="page", ok=AUTHENTICATED),
              data=lambda w, actor: {"upload": [w["upload_a"].pk, w["upload_b"].pk]}, universe=("study_a", "study_b"),
              row_id=lambda s: f'href="/imaging/studies/{s.pk}/"',
              visible={"coordinator_a": {"study_a"}, "investigator_a": {"study_a"}, "monitor_a": {"study_a"},
                       "coordinator_b": {"study_b"}, "data_manager": {"study_a", "study_b"}, "nobody": set()}),
]

# The DICOM network's pages (issue 16), in the world with a sender, an unmatched instance and an exam per side.
from imaging.tests.network_matrix import NETWORK_STAFF_A, NOT_NETWORK_STAFF_A, WEB_NETWORK_CASES, arrange_network  # noqa: E402

SENDER_CASES = [
    # The senders page lists the hospital's senders to its coordinators and data managers (by AE title).
    page_case("dicom senders page", "web-dicom-senders", statuses(kind="page", ok=AUTHENTICATED), universe=("node_a", "node_b"),
              row_id=lambda n: n.ae_title,
              visible={"coordinator_a": {"node_a"}, "investigator_a": set(), "monitor_a": set(), "coordinator_b": {"node_b"},
                       "data_manager": {"node_a", "node_b"}, "nobody": set()}),
    # Registering: data managers; for anyone else the hospital is not among the form's choices (400).
    page_case("register a dicom sender", "web-dicom-senders",
              statuses(kind="page write", ok={"data_manager"}, invalid={"coordinator_a", "investigator_a", "monitor_a", "coordinator_b", "nobody"}),
              method="post", data=lambda w, actor: {"hospital": w.actors.hospital_a.code, "ae_title": f"WEB_{actor[:8].upper()}"}),
    # Deactivating: data managers; a coordinator sees the sender but may not change it (403); out of view 404.
    page_case("deactivate a dicom sender", "web-dicom-sender-active",
              statuses(kind="page write", ok={"data_manager"}, forbidden=NETWORK_STAFF_A - {"data_manager"},
                       hidden=NOT_NETWORK_STAFF_A),
              method="post", args=lambda w: [w["node_a"].pk], data=lambda w, actor: {"active": "false", "reason": "scanner replaced"}),
]

CASES_IN_OTHER_WORLDS = [(arrange_network, WEB_NETWORK_CASES + SENDER_CASES)]
