"""Registry endpoints in the site-isolation matrix (see tests/matrix.py)."""
from datetime import date
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from registry.access import HospitalRole
from registry.audit import audit_record
from registry.models import FollowUpPlan, HospitalMembership, Job
from registry.services.consent import consent_document_create, consent_record_create
from registry.services.patients import patient_register
from registry.tests.factories import MembershipFactory
from tests.matrix import AUTHENTICATED, HOSPITAL_MEMBERS, Case, World, statuses


def _event(world: World, key: str, hospital_id: int) -> None:
    with transaction.atomic():
        world.rows[key] = audit_record(
            actor=world.actors.data_manager, action="update", object_type="registry.hospital",
            object_id=hospital_id, hospital_id=hospital_id,
        )


def arrange(world: World) -> None:
    a = world.actors
    world.rows["hospital_a"] = a.hospital_a
    world.rows["hospital_b"] = a.hospital_b
    world.rows["membership_coord_a"] = HospitalMembership.objects.get(user=a.coordinator_a)
    world.rows["membership_coord_b"] = HospitalMembership.objects.get(user=a.coordinator_b)
    world.rows["membership_extra_b"] = MembershipFactory(hospital=a.hospital_b, role=HospitalRole.INVESTIGATOR)
    _event(world, "event_a", a.hospital_a.pk)
    _event(world, "event_b", a.hospital_b.pk)
    world.rows["job_coord_a"] = Job.objects.create(kind="audit_verify", requested_by=a.coordinator_a, request_id="m")
    world.rows["job_coord_b"] = Job.objects.create(kind="audit_verify", requested_by=a.coordinator_b, request_id="m")


SEE_A = {"coordinator_a", "investigator_a", "monitor_a", "data_manager"}
NOT_A = {"coordinator_b", "nobody"}


def _token_credentials(world: World, actor: str) -> dict[str, Any]:
    return {"username": actor, "password": "correct-horse-battery"}


CASES = [
    Case("api root", "api-root", statuses(ok=AUTHENTICATED)),
    Case("me", "me", statuses(ok=AUTHENTICATED)),
    Case("code lists (reference data, not clinical)", "code-lists", statuses(ok=AUTHENTICATED)),
    Case("token with own password", "auth-token", statuses(ok=AUTHENTICATED, anonymous=400), method="post",
         data=_token_credentials),
    Case("hospital list", "hospital-list", statuses(ok=AUTHENTICATED), universe=("hospital_a", "hospital_b"),
         visible={"coordinator_a": {"hospital_a"}, "investigator_a": {"hospital_a"}, "coordinator_b": {"hospital_b"},
                  "monitor_a": {"hospital_a"}, "data_manager": {"hospital_a", "hospital_b"}, "nobody": set()}),
    Case("hospital detail", "hospital-detail", statuses(ok=SEE_A, hidden=NOT_A), args=lambda w: [w["hospital_a"].pk]),
    Case("hospital update", "hospital-detail",
         statuses(ok={"data_manager"}, hidden=NOT_A, forbidden={"coordinator_a", "investigator_a", "monitor_a"}),
         method="patch", args=lambda w: [w["hospital_a"].pk],
         data=lambda w, actor: {"city": "Tianjin", "reason": "site moved campus"}),
    Case("membership list", "membership-list", statuses(ok=AUTHENTICATED),
         universe=("membership_coord_a", "membership_coord_b", "membership_extra_b"),
         visible={"coordinator_a": {"membership_coord_a"}, "investigator_a": {"membership_coord_a"},
                  "coordinator_b": {"membership_coord_b", "membership_extra_b"}, "monitor_a": {"membership_coord_a"},
                  "data_manager": {"membership_coord_a", "membership_coord_b", "membership_extra_b"}, "nobody": set()}),
    Case("membership detail", "membership-detail", statuses(ok=SEE_A, hidden=NOT_A),
         args=lambda w: [w["membership_coord_a"].pk]),
    Case("audit event list", "audit-event-list", statuses(ok=AUTHENTICATED), universe=("event_a", "event_b"),
         id_field="seq", row_id=lambda row: row.seq,
         visible={"coordinator_a": set(), "investigator_a": set(), "coordinator_b": set(), "monitor_a": {"event_a"},
                  "data_manager": {"event_a", "event_b"}, "nobody": set()}),
    Case("audit event detail", "audit-event-detail",
         statuses(ok={"monitor_a", "data_manager"}, hidden={"coordinator_a", "investigator_a", "coordinator_b", "nobody"}),
         args=lambda w: [w["event_a"].seq]),
    Case("audit verify", "audit-event-verify",
         statuses(ok={"data_manager"}, ok_status=202,
                  forbidden={"coordinator_a", "investigator_a", "coordinator_b", "monitor_a", "nobody"}),
         method="post"),
    Case("job list", "job-list", statuses(ok=AUTHENTICATED), universe=("job_coord_a", "job_coord_b"),
         visible={"coordinator_a": {"job_coord_a"}, "investigator_a": set(), "coordinator_b": {"job_coord_b"},
                  "monitor_a": set(), "data_manager": {"job_coord_a", "job_coord_b"}, "nobody": set()}),
    Case("job detail", "job-detail",
         statuses(ok={"coordinator_a", "data_manager"},
                  hidden={"investigator_a", "coordinator_b", "monitor_a", "nobody"}),
         args=lambda w: [w["job_coord_a"].pk]),
]


# --- Patients, consent, follow-up ------------------------------------------------------------------
DX = date(2024, 1, 10)
SCAN = b"%PDF-1.4 signed consent page"  # each patient's consent comes with its scanned signature page


def _patient(world: World, key: str, coordinator: Any, hospital: Any, record_number: str) -> None:
    patient = patient_register(
        actor=coordinator, hospital=hospital, identity={"name": f"Child {record_number}", "record_number": record_number},
        sex="M", birth_date=date(2022, 5, 4), diagnosis_date=DX, primary_site="adrenal", inrgss_stage="M",
        inrg_risk="high", mycn="amplified", aberration_11q="no", ploidy="diploid", histology="unfavourable")
    world.rows[key] = patient
    world.rows[f"consent_{key}"] = consent_record_create(
        actor=coordinator, patient=patient, document=world.rows["document_v1"], assent="not_applicable",
        signed_date=DX, guardian1_relationship="mother", signature_page=SimpleUploadedFile("scan.pdf", SCAN, "application/pdf"))
    visits = list(patient.visits.order_by("number")[:2])
    world.rows[f"visit_{key}"], world.rows[f"visit2_{key}"] = visits


def arrange_clinical(world: World) -> None:
    a = world.actors
    world.rows["document_v1"] = consent_document_create(
        actor=a.data_manager, scope="registry", version="1.0", title="Registry consent", ethics_approval_number="EC-1",
        ethics_approval_date=date(2015, 1, 1), effective_from=date(2015, 1, 1),
        pdf=SimpleUploadedFile("form.pdf", b"%PDF-1.4 approved form", "application/pdf"))
    world.rows["document_v2"] = consent_document_create(
        actor=a.data_manager, scope="registry", version="2.0", title="Registry consent", ethics_approval_number="EC-2",
        ethics_approval_date=date(2024, 6, 1), effective_from=date(2024, 6, 1))
    _patient(world, "patient_a", a.coordinator_a, a.hospital_a, "A-1")
    _patient(world, "patient_b", a.coordinator_b, a.hospital_b, "B-1")
    world.rows["plan"] = FollowUpPlan.objects.get(is_default=True)


def _new_patient(world: World, actor: str) -> dict[str, Any]:
    return {"hospital": "AAA", "identity": {"name": "Test Child", "record_number": f"NEW-{actor}"}, "sex": "F",
            "birth_date": "2022-03-01", "diagnosis_date": "2023-05-01", "primary_site": "adrenal", "inrgss_stage": "L1",
            "inrg_risk": "very_low", "mycn": "not_amplified", "aberration_11q": "no", "ploidy": "hyperdiploid",
            "histology": "favourable"}


def _visit_data(world: World, actor: str) -> dict[str, Any]:
    return {"visit_date": "2024-04-12", "vital_status": "alive", "disease_status": "PR"}


ADDERS_A = {"coordinator_a", "investigator_a", "data_manager"}
SEE_A_NOT_ADD = {"monitor_a"}
PATIENTS = ("patient_a", "patient_b")
study_id = lambda row: row.study_id  # noqa: E731
patient_arg = lambda w: [w["patient_a"].study_id]  # noqa: E731
VISIBLE_A_B = {"coordinator_a": {"A"}, "investigator_a": {"A"}, "coordinator_b": {"B"}, "monitor_a": {"A"},
               "data_manager": {"A", "B"}, "nobody": set()}


def _visible(prefix: str, suffix: str = "") -> dict[str, set[str]]:
    return {actor: {f"{prefix}{x.lower()}{suffix}" for x in sides} for actor, sides in VISIBLE_A_B.items()}


CLINICAL_CASES = [
    Case("patient list", "patient-list", statuses(ok=AUTHENTICATED), universe=PATIENTS, id_field="study_id",
         row_id=study_id, visible=_visible("patient_")),
    Case("patient detail", "patient-detail", statuses(ok=SEE_A, hidden=NOT_A), args=patient_arg),
    Case("patient register", "patient-list",
         statuses(ok=ADDERS_A, ok_status=201, forbidden={"monitor_a", "nobody"}, invalid={"coordinator_b"}),
         method="post", data=_new_patient),
    Case("patient update", "patient-detail", statuses(ok=ADDERS_A, hidden=NOT_A, forbidden=SEE_A_NOT_ADD),
         method="patch", args=patient_arg, data=lambda w, actor: {"primary_site": "thorax", "reason": "imaging review"}),
    Case("patient identity", "patient-identity",
         statuses(ok={"coordinator_a", "investigator_a"}, hidden={"coordinator_b", "monitor_a", "data_manager", "nobody"}),
         args=patient_arg),
    Case("patient identity correction", "patient-identity",
         statuses(ok={"coordinator_a"}, forbidden={"investigator_a"},
                  hidden={"coordinator_b", "monitor_a", "data_manager", "nobody"}),
         method="patch", args=patient_arg, data=lambda w, actor: {"guardian1_phone": "13800000000", "reason": "new phone"}),
    Case("patient outcome", "patient-outcome", statuses(ok=SEE_A, hidden=NOT_A), args=patient_arg),
    Case("patient consent status", "patient-consent-status", statuses(ok=SEE_A, hidden=NOT_A), args=patient_arg),
    Case("consent document list", "consent-document-list", statuses(ok=AUTHENTICATED), universe=("document_v1",),
         visible={a: {"document_v1"} for a in HOSPITAL_MEMBERS} | {"nobody": set()}),
    Case("consent document detail", "consent-document-detail",
         statuses(ok=HOSPITAL_MEMBERS, hidden={"nobody"}), args=lambda w: [w["document_v1"].pk]),
    Case("consent document pdf", "consent-document-pdf", statuses(ok=HOSPITAL_MEMBERS, hidden={"nobody"}),
         args=lambda w: [w["document_v1"].pk]),
    Case("consent document publish", "consent-document-list",
         statuses(ok={"data_manager"}, ok_status=201,
                  forbidden={"coordinator_a", "investigator_a", "coordinator_b", "monitor_a", "nobody"}),
         method="post", data=lambda w, actor: {"scope": "registry", "version": "3.0", "title": "v3",
                                               "ethics_approval_number": "EC-3", "ethics_approval_date": "2025-01-01",
                                               "effective_from": "2025-01-02"}),
    Case("consent list", "consent-list", statuses(ok=AUTHENTICATED), universe=("consent_patient_a", "consent_patient_b"),
         visible=_visible("consent_patient_")),
    Case("consent detail", "consent-detail", statuses(ok=SEE_A, hidden=NOT_A), args=lambda w: [w["consent_patient_a"].pk]),
    # The guardians' names and signatures: roles named at the patient's own hospital only (Rule.READ_SIGNED_CONSENT),
    # so not the data manager of every hospital, who sees the consent itself.
    Case("consent signature page", "consent-signature-page",
         statuses(ok={"coordinator_a", "investigator_a", "monitor_a"}, hidden={"coordinator_b", "data_manager", "nobody"}),
         args=lambda w: [w["consent_patient_a"].pk]),
    Case("consent record", "consent-list",
         statuses(ok=ADDERS_A, ok_status=201, forbidden={"monitor_a", "nobody"}, invalid={"coordinator_b"}),
         method="post", data=lambda w, actor: {"patient": w["patient_a"].study_id, "document": w["document_v2"].pk,
                                               "assent": "not_applicable", "signed_date": "2024-07-01",
                                               "guardian1_relationship": "father"}),
    Case("consent withdraw", "consent-withdraw", statuses(ok=ADDERS_A, ok_status=201, hidden=NOT_A, forbidden=SEE_A_NOT_ADD),
         method="post", args=lambda w: [w["consent_patient_a"].pk],
         data=lambda w, actor: {"withdrawn_on": "2025-01-05", "scope": "no_further_contact", "reason": "family moved"}),
    Case("visit list", "visit-list", statuses(ok=AUTHENTICATED), universe=("visit_patient_a", "visit_patient_b"),
         visible=_visible("visit_patient_")),
    Case("visit detail", "visit-detail", statuses(ok=SEE_A, hidden=NOT_A), args=lambda w: [w["visit_patient_a"].pk]),
    Case("visit record", "visit-record", statuses(ok=ADDERS_A, hidden=NOT_A, forbidden=SEE_A_NOT_ADD), method="post",
         args=lambda w: [w["visit_patient_a"].pk], data=_visit_data),
    Case("visit missed", "visit-missed", statuses(ok=ADDERS_A, hidden=NOT_A, forbidden=SEE_A_NOT_ADD), method="post",
         args=lambda w: [w["visit2_patient_a"].pk], data=lambda w, actor: {"reason": "family unreachable"}),
    Case("unscheduled visit", "visit-list",
         statuses(ok=ADDERS_A, ok_status=201, forbidden={"monitor_a", "nobody"}, invalid={"coordinator_b"}),
         method="post", data=lambda w, actor: {**_visit_data(w, actor), "patient": w["patient_a"].study_id}),
    Case("follow-up plan list", "follow-up-plan-list", statuses(ok=AUTHENTICATED), universe=("plan",),
         visible={a: {"plan"} for a in HOSPITAL_MEMBERS} | {"nobody": set()}),
    Case("follow-up plan detail", "follow-up-plan-detail", statuses(ok=HOSPITAL_MEMBERS, hidden={"nobody"}),
         args=lambda w: [w["plan"].pk]),
    Case("follow-up plan edit", "follow-up-plan-detail",
         statuses(ok={"data_manager"}, hidden={"nobody"},
                  forbidden={"coordinator_a", "investigator_a", "coordinator_b", "monitor_a"}),
         method="patch", args=lambda w: [w["plan"].pk], data=lambda w, actor: {"window_days": 21, "reason": "SOP v2"}),
    Case("worklist", "worklist", statuses(ok=AUTHENTICATED)),
    Case("outcomes", "outcomes", statuses(ok=AUTHENTICATED), universe=PATIENTS, id_field="study_id", row_id=study_id,
         visible=_visible("patient_")),
]
