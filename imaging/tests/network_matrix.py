"""The DICOM network's endpoints in the site-isolation matrix: a sender, an unmatched instance and a scheduled exam on
each side, over the imaging world (imaging.tests.matrix_cases lists these cases in CASES_IN_OTHER_WORLDS)."""
from datetime import datetime
from typing import Any

from django.utils import timezone

from imaging.models import UnmatchedInstance
from imaging.services.network import dicom_node_register, scheduled_exam_schedule
from registry import identity_crypto
from tests.matrix import AUTHENTICATED, Case, World, page_case, statuses

_WHEN = timezone.make_aware(datetime(2026, 12, 7, 9, 30))
# Senders and the unmatched queue: the hospital's coordinators and data managers.
NETWORK_STAFF_A = {"coordinator_a", "data_manager"}
NOT_NETWORK_STAFF_A = {"investigator_a", "monitor_a", "coordinator_b", "nobody"}


def arrange_network(world: World) -> None:
    from imaging.tests.matrix_cases import arrange_imaging

    arrange_imaging(world)
    for side, hospital, coordinator in (("a", world.actors.hospital_a, world.actors.coordinator_a),
                                        ("b", world.actors.hospital_b, world.actors.coordinator_b)):
        node = dicom_node_register(actor=world.actors.data_manager, hospital=hospital, ae_title=f"MATRIX_{side.upper()}")
        unmatched = UnmatchedInstance.objects.create(
            hospital=hospital, node=node, association="0" * 32, cause="unknown_patient",
            identity=identity_crypto.encrypt({"patient_id": f"MRN-{side}", "patient_name": "", "accession_number": ""}),
            study_uid=f"1.2.3.{side == 'a' and 1 or 2}", series_uid="1.2.3.4", sop_instance_uid="1.2.3.4.5", modality="PT",
            path="none.dcm", size=1, sha256="0" * 64)
        exam = scheduled_exam_schedule(actor=coordinator, patient=world[f"patient_{side}"], scheduled_for=_WHEN, tracer="I123_MIBG",
                                       modality="NM", weight_kg=18.0)
        world.rows.update({f"node_{side}": node, f"unmatched_{side}": unmatched, f"exam_{side}": exam})


def _staff_visible(prefix: str) -> dict[str, set[str]]:
    sides = {"coordinator_a": "a", "investigator_a": "", "coordinator_b": "b", "monitor_a": "", "data_manager": "ab", "nobody": ""}
    return {actor: {f"{prefix}{s}" for s in which} for actor, which in sides.items()}


def _all_visible(prefix: str) -> dict[str, set[str]]:
    sides = {"coordinator_a": "a", "investigator_a": "a", "coordinator_b": "b", "monitor_a": "a", "data_manager": "ab", "nobody": ""}
    return {actor: {f"{prefix}{s}" for s in which} for actor, which in sides.items()}


def _schedule(w: World, actor: str) -> dict[str, Any]:
    return {"patient": w["patient_a"].study_id, "scheduled_for": "2026-12-08T10:00:00Z", "tracer": "I123_MIBG", "modality": "NM",
            "weight_kg": 18.0}


def _discard(w: World, actor: str) -> dict[str, Any]:
    return {"ids": [w["unmatched_a"].pk], "reason": "test"}


NETWORK_CASES = [
    Case("dicom node list", "imaging-dicom-node-list", statuses(ok=AUTHENTICATED), universe=("node_a", "node_b"),
         visible=_staff_visible("node_")),
    Case("dicom node detail", "imaging-dicom-node-detail", statuses(ok=NETWORK_STAFF_A, hidden=NOT_NETWORK_STAFF_A),
         args=lambda w: [w["node_a"].pk]),
    Case("dicom node register", "imaging-dicom-node-list",
         statuses(ok={"data_manager"}, ok_status=201, forbidden={"coordinator_a", "investigator_a", "coordinator_b", "monitor_a",
                                                                  "nobody"}),
         method="post", data=lambda w, actor: {"hospital": w.actors.hospital_a.code, "ae_title": f"NEW_{actor[:8].upper()}"}),
    Case("unmatched list", "imaging-unmatched-list", statuses(ok=AUTHENTICATED), universe=("unmatched_a", "unmatched_b"),
         visible=_staff_visible("unmatched_")),
    Case("unmatched detail", "imaging-unmatched-detail", statuses(ok=NETWORK_STAFF_A, hidden=NOT_NETWORK_STAFF_A),
         args=lambda w: [w["unmatched_a"].pk]),
    # The service refuses rows outside the caller's queue as not found (400 with code not_found in the API's envelope).
    Case("unmatched discard", "imaging-unmatched-discard",
         statuses(ok=NETWORK_STAFF_A, invalid={"investigator_a", "monitor_a", "coordinator_b", "nobody"}),
         method="post", data=_discard),
    # Hospital B's received instance pulled into hospital A's patient: refused for everyone (filing it is tested in test_dimse).
    Case("unmatched assign (another hospital's instance)", "imaging-unmatched-assign",
         statuses(invalid={"coordinator_a", "investigator_a", "data_manager"}, hidden={"coordinator_b", "nobody"},
                  forbidden={"monitor_a"}),
         method="post", data=lambda w, actor: {"ids": [w["unmatched_b"].pk], "patient": w["patient_a"].study_id}),
    Case("scheduled exam list", "imaging-scheduled-exam-list", statuses(ok=AUTHENTICATED), universe=("exam_a", "exam_b"),
         visible=_all_visible("exam_")),
    Case("scheduled exam detail", "imaging-scheduled-exam-detail",
         statuses(ok={"coordinator_a", "investigator_a", "monitor_a", "data_manager"}, hidden={"coordinator_b", "nobody"}),
         args=lambda w: [w["exam_a"].pk]),
    Case("scheduled exam create", "imaging-scheduled-exam-list",
         statuses(ok={"coordinator_a", "investigator_a", "data_manager"}, ok_status=201, hidden={"coordinator_b"},
                  forbidden={"monitor_a", "nobody"}), method="post", data=_schedule),
]


def _page_ids(w: World, actor: str) -> dict[str, Any]:
    return {"ids": [str(w["unmatched_a"].pk)], "reason": "test shot"}


WEB_NETWORK_CASES = [
    page_case("unmatched queue page", "web-dicom-unmatched", statuses(kind="page", ok=AUTHENTICATED)),
    # Rows outside the caller's queue are not among the form's choices (400), like the upload page's patients.
    page_case("unmatched discard", "web-dicom-unmatched-discard",
              statuses(kind="page write", ok=NETWORK_STAFF_A, invalid={"investigator_a", "monitor_a", "coordinator_b", "nobody"}),
              method="post", data=_page_ids),
    page_case("unmatched assign (another hospital's instance)", "web-dicom-unmatched-assign",
              statuses(kind="page write", invalid={"coordinator_a", "investigator_a", "monitor_a", "coordinator_b", "data_manager",
                                                   "nobody"}),
              method="post", data=lambda w, actor: {"ids": [str(w["unmatched_b"].pk)], "patient": w["patient_a"].study_id}),
    page_case("scheduled exams page", "web-scheduled-exams", statuses(kind="page", ok=AUTHENTICATED)),
    page_case("schedule an exam", "web-scheduled-exams",
              statuses(kind="page write", ok={"coordinator_a", "investigator_a", "data_manager"},
                       invalid={"coordinator_b", "monitor_a", "nobody"}),
              method="post", data=lambda w, actor: {"patient": w["patient_a"].study_id, "scheduled_for": "2026-12-08T10:00",
                                                    "tracer": "I123_MIBG", "modality": "NM", "weight_kg": "18"}),
]
