"""Registry pages in the site-isolation matrix (see tests/matrix.py): the home page and the patient pages.

The world is the registry API's (registry/tests/matrix_cases.py: patient A at hospital A and patient B at hospital B,
each with a consent and a follow-up schedule) with patient A's first visit recorded, so that it can be corrected.
"""
from datetime import date
from typing import Any

from registry import identity_crypto
from registry.services.followup import followup_visit_record
from registry.tests import matrix_cases as api
from tests.matrix import AUTHENTICATED, HOSPITAL_MEMBERS, Case, World, both, page_case, statuses


def _recorded_visit(world: World) -> None:
    visit = followup_visit_record(actor=world.actors.coordinator_a, patient=world["patient_a"], visit=world["visit_patient_a"],
                                  data={"visit_date": date(2024, 4, 12), "vital_status": "alive", "disease_status": "PR"})
    world.rows["done_visit_a"] = visit


arrange = both(both(api.arrange, api.arrange_clinical), _recorded_visit)

SEE_A = api.SEE_A  # staff of hospital A and the data manager
NOT_A = api.NOT_A  # hospital B's coordinator and the user with no role (trial-only actors: like nobody)
WRITERS_A = api.ADDERS_A  # coordinator, investigator of A and the data manager; monitor_a reads only
REGISTRARS = {"coordinator_a", "investigator_a", "coordinator_b", "data_manager"}
patient_arg = api.patient_arg


def _page(**actors: Any) -> dict[str, int]:
    return statuses(kind="page", **actors)


def _write(**actors: Any) -> dict[str, int]:
    return statuses(kind="page write", **actors)


def _registration(world: World, actor: str) -> dict[str, str]:
    return {"hospital": "AAA", "name": "Wang Fang", "record_number": f"MRN-{actor}", "sex": "F", "birth_date": "2019-03-15",
            "birth_date_precision": "day", "diagnosis_date": "2020-09-15", "primary_site": "adrenal", "inrgss_stage": "M",
            "inrg_risk": "high", "mycn": "amplified", "aberration_11q": "no", "ploidy": "diploid", "histology": "unfavourable"}


def _record_number(world: World, actor: str) -> dict[str, str]:
    """Patient A's hospital record number, as its staff would type it (read back from the encrypted identity)."""
    return {"record_number": identity_crypto.decrypt(world["patient_a"].identity.ciphertext)["record_number"]}


def _clinical_edit(world: World, actor: str) -> dict[str, str]:
    patient = world["patient_a"]
    data = {name: (value.isoformat() if isinstance(value, date) else value) for name in (
        "sex", "birth_date", "birth_date_precision", "diagnosis_date", "primary_site", "inrgss_stage", "inss_stage",
        "inrg_risk", "cog_risk", "mycn", "aberration_11q", "ploidy", "histology") for value in [getattr(patient, name)]}
    return {**data, "primary_site": "thorax", "reason": "pathology review"}


def _consent(world: World, actor: str) -> dict[str, str]:
    return {"document": str(world["document_v2"].pk), "signer": "guardian", "guardian1_relationship": "mother",
            "assent": "not_applicable", "signed_date": "2024-07-01"}


def _visit(world: World, actor: str) -> dict[str, str]:
    return {"visit": str(world["visit2_patient_a"].pk), "visit_date": "2024-07-12", "vital_status": "alive", "disease_status": "CR"}


def _correction(world: World, actor: str) -> dict[str, str]:
    return {"visit_date": "2024-04-12", "vital_status": "alive", "disease_status": "CR", "reason": "response misread"}


consent_args = lambda w: [w["patient_a"].study_id, w["consent_patient_a"].pk]  # noqa: E731
missed_args = lambda w: [w["patient_a"].study_id, w["visit2_patient_a"].pk]  # noqa: E731
correct_args = lambda w: [w["patient_a"].study_id, w["done_visit_a"].pk]  # noqa: E731

CLINICAL = dict(ok=WRITERS_A, hidden=NOT_A, forbidden={"monitor_a"})

CASES: list[Case] = [
    page_case("home page", "home", _page(ok=AUTHENTICATED)),
    # One worklist group's own page ("N more"): every signed-in user gets their own items of it (restricted by the group).
    page_case("worklist group page", "web-worklist-group", _page(ok=AUTHENTICATED), args=lambda w: ["visit_overdue"]),
    # The list shows each actor exactly the patients of their hospitals (by study ID in the page).
    page_case("patient list page", "web-patient-list", _page(ok=AUTHENTICATED), universe=("patient_a", "patient_b"),
              row_id=api.study_id, visible=api._visible("patient_")),
    page_case("patient register page", "web-patient-register",
              _page(ok=REGISTRARS, forbidden={"monitor_a", "nobody"})),
    # Hospital A is not among coordinator_b's choices: the form refuses it.
    page_case("patient register", "web-patient-register",
              _write(ok={"coordinator_a", "investigator_a", "data_manager"}, invalid={"coordinator_b"},
                     forbidden={"monitor_a", "nobody"}), method="post", data=_registration),
    # Finding patient A by hospital record number: A's own staff are sent to the page; B's coordinator finds nothing at
    # their hospitals (404); roles that read no identifiers (monitor, data manager of every hospital, no role): 403.
    page_case("patient find by record number", "web-patient-find",
              _write(ok={"coordinator_a", "investigator_a"}, hidden={"coordinator_b"},
                     forbidden={"monitor_a", "data_manager", "nobody"}), method="post", data=_record_number),
    page_case("patient page", "web-patient-detail", _page(ok=SEE_A, hidden=NOT_A), args=patient_arg),
    page_case("patient edit page", "web-patient-edit", _page(**CLINICAL), args=patient_arg),
    page_case("patient edit", "web-patient-edit", _write(**CLINICAL), method="post", args=patient_arg, data=_clinical_edit),
    page_case("consent record page", "web-patient-consent-record", _page(**CLINICAL), args=patient_arg),
    page_case("consent record", "web-patient-consent-record", _write(**CLINICAL), method="post", args=patient_arg,
              data=_consent),
    page_case("consent withdraw page", "web-patient-consent-withdraw", _page(**CLINICAL), args=consent_args),
    # Downloads: the scanned signature page for roles named at the patient's own hospital (not the data manager of
    # every hospital); the approved form's PDF for everyone who sees the document.
    page_case("consent signature page", "web-patient-consent-signature-page",
              statuses(kind="file", ok={"coordinator_a", "investigator_a", "monitor_a"}, hidden={"coordinator_b", "data_manager", "nobody"}),
              args=consent_args),
    page_case("consent document pdf", "web-consent-document-pdf", statuses(kind="file", ok=HOSPITAL_MEMBERS, hidden={"nobody"}),
              args=lambda w: [w["document_v1"].pk]),
    page_case("consent withdraw", "web-patient-consent-withdraw", _write(**CLINICAL), method="post", args=consent_args,
              data=lambda w, actor: {"withdrawn_on": "2025-01-05", "scope": "no_further_contact", "reason": "family moved"}),
    page_case("visit enter page", "web-patient-visit-enter", _page(**CLINICAL), args=patient_arg),
    page_case("visit enter", "web-patient-visit-enter", _write(**CLINICAL), method="post", args=patient_arg, data=_visit),
    page_case("visit missed page", "web-patient-visit-missed", _page(**CLINICAL), args=missed_args),
    page_case("visit missed", "web-patient-visit-missed", _write(**CLINICAL), method="post", args=missed_args,
              data=lambda w, actor: {"reason": "family unreachable"}),
    page_case("visit correct page", "web-patient-visit-correct", _page(**CLINICAL), args=correct_args),
    page_case("visit correct", "web-patient-visit-correct", _write(**CLINICAL), method="post", args=correct_args,
              data=_correction),
]
