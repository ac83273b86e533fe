"""The admin: for data managers only, scoped, and every save goes through the audited services."""
from datetime import date

import pytest
from django.contrib import admin

from conftest import Actors
from registry.models import AuditEvent, Hospital, Patient
from registry.services.patients import patient_register


@pytest.fixture
def staff_dm(actors: Actors):  # type: ignore[no-untyped-def]
    actors.data_manager.is_staff = True
    actors.data_manager.save(update_fields=["is_staff"])
    return actors.data_manager


@pytest.fixture
def patient(actors: Actors) -> Patient:
    return patient_register(actor=actors.coordinator_a, hospital=actors.hospital_a,
                            identity={"name": "Admin Child", "record_number": "ADM-1"}, sex="F",
                            birth_date=date(2021, 2, 3), diagnosis_date=date(2022, 8, 9), primary_site="adrenal",
                            inrgss_stage="L2", inrg_risk="low", mycn="not_amplified", aberration_11q="no",
                            ploidy="hyperdiploid", histology="favourable")


def test_every_registered_changelist_opens_for_a_data_manager(client, staff_dm, patient) -> None:  # type: ignore[no-untyped-def]
    client.force_login(staff_dm)
    for model in admin.site._registry:
        if model._meta.app_label != "registry" or model._meta.model_name == "user":
            continue
        url = f"/admin/registry/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url


def test_staff_without_data_manager_role_gets_no_clinical_admin(client, actors: Actors, patient) -> None:  # type: ignore[no-untyped-def]
    actors.coordinator_a.is_staff = True
    actors.coordinator_a.save(update_fields=["is_staff"])
    client.force_login(actors.coordinator_a)
    assert client.get("/admin/registry/patient/").status_code == 403


def test_patient_change_in_admin_needs_a_reason_and_is_audited(client, staff_dm, patient) -> None:  # type: ignore[no-untyped-def]
    client.force_login(staff_dm)
    url = f"/admin/registry/patient/{patient.pk}/change/"
    form = {f: getattr(patient, f) for f in ("sex", "birth_date_precision", "primary_site", "inrgss_stage", "inss_stage",
                                            "inrg_risk", "cog_risk", "mycn", "aberration_11q", "ploidy", "histology")}
    form.update(birth_date="2021-02-03", diagnosis_date="2022-08-09", inrgss_stage="M")
    refused = client.post(url, {**form, "reason": ""})
    assert refused.status_code == 200 and "A reason is required" in refused.content.decode()
    assert Patient.objects.get(pk=patient.pk).inrgss_stage == "L2"
    done = client.post(url, {**form, "reason": "central review"})
    assert done.status_code == 302 and Patient.objects.get(pk=patient.pk).inrgss_stage == "M"
    event = AuditEvent.objects.filter(object_type="registry.patient", action="update").latest("seq")
    assert event.source == "admin" and event.reason == "central review" and event.actor == staff_dm


def test_hospital_change_in_admin_is_audited(client, staff_dm, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    client.force_login(staff_dm)
    h = actors.hospital_a
    response = client.post(f"/admin/registry/hospital/{h.pk}/change/", {
        "name_zh": h.name_zh, "name_en": h.name_en, "province": "Hebei", "city": h.city, "is_active": "on",
        "dosage_table": h.dosage_table, "reason": "province corrected"})
    assert response.status_code == 302 and Hospital.objects.get(pk=h.pk).province == "Hebei"
    assert AuditEvent.objects.filter(object_type="registry.hospital", reason="province corrected").count() == 1
