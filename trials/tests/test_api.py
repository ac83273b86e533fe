"""The trials API: concealment of the allocation list (every endpoint and the admin), de-identification for trial
roles, refusals as 400 with their code, and pinned query counts on the lists."""
import json

import pytest
from django.contrib import admin
from django.urls import reverse

from conftest import Actors, api_client
from registry.models import AuditEvent, PatientIdentity
from tests.matrix import World
from trials.api.urls import router
from trials.models import AllocationSlot, RandomisationList, Subject, Trial, TrialSite
from trials.tests.builders import enrol, ready_patient
from trials.tests.matrix_cases import arrange


@pytest.fixture
def world(actors: Actors) -> World:
    world = World(actors=actors)
    arrange(world)
    # More subjects in the randomised trial, so the list has used and unused slots in several strata.
    for risk in ("high", "low", "high"):
        enrol(actors.coordinator_a, world["trial_a"], actors.hospital_a, inrg_risk=risk)
    return world


def _get_everything(client, world: World) -> list[str]:  # type: ignore[no-untyped-def]
    """Every GET the trials API offers (lists, details, actions), as response text."""
    bodies = []
    for _, _, basename in router.registry:
        listing = client.get(reverse(f"{basename}-list"), {"page_size": 500})
        bodies.append(listing.content.decode())
        for row in listing.json()["results"]:
            bodies.append(client.get(reverse(f"{basename}-detail", args=[row["id"]])).content.decode())
    bodies.append(client.get(reverse("screening-record-log")).content.decode())
    bodies.append(client.get(reverse("trial-detail", args=[world["trial_a"].pk])).content.decode())
    return bodies


@pytest.mark.parametrize("actor", ["data_manager", "coordinator_a", "sponsor", "trial_monitor"])
def test_the_next_allocation_is_readable_through_no_endpoint(world: World, actor: str) -> None:
    listing = RandomisationList.objects.get(trial=world["trial_a"])
    unused = AllocationSlot.objects.filter(subject__isnull=True)
    assert unused.exists()
    client = api_client(world.actors.by_name(actor))
    text = "\n".join(_get_everything(client, world))
    assert str(listing.seed) not in text
    for word in ("allocation", "slot", "seed", "block_number", "next_arm"):
        assert f'"{word}' not in text
    # Blinded: no subject of the randomised trial shows its arm, so even the used slots are not exposed.
    subjects = json.loads(client.get(reverse("subject-list"), {"trial": world["trial_a"].pk}).content)["results"]
    assert subjects and all(s["arm"] is None and s["blinded"] for s in subjects)
    # No URL of the trials API serves the allocation tables.
    for _, viewset, _ in router.registry:
        assert viewset.serializer_class.Meta.model not in (AllocationSlot, RandomisationList)


def test_the_allocation_list_is_not_in_the_admin(world: World, client) -> None:  # type: ignore[no-untyped-def]
    assert AllocationSlot not in admin.site._registry and RandomisationList not in admin.site._registry
    dm = world.actors.data_manager
    dm.is_staff = True
    dm.save(update_fields=["is_staff"])
    client.force_login(dm)
    for model in ("allocationslot", "randomisationlist"):
        assert client.get(f"/admin/trials/{model}/").status_code == 404
    index = client.get("/admin/trials/").content.decode()
    assert "Allocation" not in index and "Randomisation" not in index
    subject = Subject.objects.filter(trial=world["trial_a"]).first()
    page = client.get(f"/admin/trials/subject/{subject.pk}/change/").content.decode()
    assert "stratum" not in page.lower() and subject.arm.name_en not in page
    seed = str(RandomisationList.objects.get().seed)
    for model in ("trial", "subject", "trialsite", "arm"):
        assert seed not in client.get(f"/admin/trials/{model}/").content.decode()


def test_every_trials_changelist_opens_for_a_data_manager(world: World, client) -> None:  # type: ignore[no-untyped-def]
    dm = world.actors.data_manager
    dm.is_staff = True
    dm.save(update_fields=["is_staff"])
    client.force_login(dm)
    for model in admin.site._registry:
        if model._meta.app_label == "trials":
            assert client.get(f"/admin/trials/{model._meta.model_name}/").status_code == 200, model


def test_unblinding_through_the_api_shows_the_arm_afterwards(world: World) -> None:
    subject = world["subject_a"]
    client = api_client(world.actors.data_manager)
    refused = client.post(reverse("subject-unblind", args=[subject.pk]), {}, format="json")
    assert refused.status_code == 400 and refused.json()["fields"] == {"reason": ["This field is required."]}
    done = client.post(reverse("subject-unblind", args=[subject.pk]), {"reason": "SAE: dose needed"}, format="json")
    assert done.status_code == 200 and done.json()["arm"] == subject.arm.code
    shown = api_client(world.actors.sponsor).get(reverse("subject-detail", args=[subject.pk])).json()
    assert shown["arm"] == subject.arm.code and shown["blinded"] is False and shown["unblinded_at"]


@pytest.mark.parametrize("actor", ["sponsor", "trial_monitor", "central_reader"])
def test_trial_roles_see_no_study_id_and_no_identifier(world: World, actor: str) -> None:
    client = api_client(world.actors.by_name(actor))
    text = "\n".join(_get_everything(client, world))
    study_ids = [s.patient.study_id for s in Subject.objects.select_related("patient")] + [world["ready_a"].study_id]
    for study_id in study_ids:
        assert study_id not in text
    assert "Zhang Xiaoming" not in text and "MRN-" not in text
    subjects = client.get(reverse("subject-list")).json()["results"]
    assert subjects and all(s["patient"] is None for s in subjects)
    # Filtering on a study ID is no probe: it matches nothing for them.
    probe = client.get(reverse("subject-list"), {"patient": world["subject_a"].patient.study_id}).json()
    assert probe["count"] == 0


def test_staff_of_the_hospital_see_the_study_id(world: World) -> None:
    client = api_client(world.actors.coordinator_a)
    rows = client.get(reverse("subject-list")).json()["results"]
    assert {r["patient"] for r in rows} == set(Subject.objects.filter(site__hospital=world.actors.hospital_a)
                                                .values_list("patient__study_id", flat=True))
    assert PatientIdentity.objects.exists()


def test_enrolment_refusal_is_a_400_naming_the_reason(world: World) -> None:
    client = api_client(world.actors.coordinator_a)
    body = {"trial": world["trial_a"].pk, "site": world["site_a"].pk, "patient": world["failed_a"].study_id}
    response = client.post(reverse("subject-enrol"), body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "no_eligible_screening" and "I1" in response.json()["detail"]


def test_screening_log_counts_per_site(world: World) -> None:
    rows = api_client(world.actors.data_manager).get(reverse("screening-record-log")).json()
    by_trial = {r["trial"]: r for r in rows}
    assert by_trial["T-A"]["screened"] == 6 and by_trial["T-A"]["eligible"] == 5 and by_trial["T-A"]["screen_failures"] == 1
    assert by_trial["T-A"]["enrolled"] == 4 and by_trial["T-B"]["enrolled"] == 1
    site_b = api_client(world.actors.data_manager).get(reverse("screening-record-log"), {"site": world["site_b"].pk}).json()
    assert [r["trial"] for r in site_b] == ["T-B"]


# Per request: session, user, hospital and trial roles, count, page (+ prefetch of screening answers and criteria),
# and the session save: constant in the number of rows (the world is enlarged first).
@pytest.mark.parametrize(("url_name", "limit"), [
    ("trial-list", 9), ("protocol-version-list", 9), ("arm-list", 9), ("trial-site-list", 9), ("trial-membership-list", 9),
    ("eligibility-criterion-list", 9), ("visit-definition-list", 9), ("screening-record-list", 11), ("subject-list", 9),
    ("subject-visit-list", 9), ("dosing-record-list", 9), ("protocol-deviation-list", 9), ("screening-record-log", 8),
])
@pytest.mark.parametrize("actor", ["data_manager", "sponsor", "coordinator_a"])
def test_list_query_counts_are_pinned(world: World, url_name: str, limit: int, actor: str,
                                      django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for risk in ("high", "low"):
        ready_patient(world.actors.coordinator_a, world["trial_a"], world.actors.hospital_a, inrg_risk=risk)
    client = api_client(world.actors.by_name(actor))
    client.get(reverse(url_name))  # warm the session
    with django_assert_max_num_queries(limit):
        assert client.get(reverse(url_name)).status_code == 200


def test_admin_writes_go_through_the_audited_services(world: World, client) -> None:  # type: ignore[no-untyped-def]
    dm = world.actors.data_manager
    dm.is_staff = True
    dm.save(update_fields=["is_staff"])
    client.force_login(dm)
    created = client.post("/admin/trials/trial/add/", {
        "code": "ADM-1", "title_zh": "试验", "title_en": "Admin trial", "phase": "II", "agent_code": "F18_FDG",
        "sponsor_organisation": "NBNM", "target_accrual": "10", "dosage_table": "eanm", "deviation_threshold_percent": "10.0",
        "fdg_acquisition": "3D", "stratify_by": "[]", "block_sizes": "[]", "reason": ""})
    assert created.status_code == 302, created.content[:2000]
    trial = Trial.objects.get(code="ADM-1")
    assert trial.status == "draft"
    assert AuditEvent.objects.filter(object_type="trials.trial", action="create", trial_id=trial.pk, source="admin").exists()
    site = world["site_a"]
    url = f"/admin/trials/trialsite/{site.pk}/change/"
    form = {"principal_investigator": "", "activated_on": "2025-02-01", "closed_on": "2026-10-01", "target_accrual": "5"}
    refused = client.post(url, {**form, "reason": ""})
    assert refused.status_code == 200 and TrialSite.objects.get(pk=site.pk).closed_on is None
    done = client.post(url, {**form, "reason": "site closed by the sponsor"})
    assert done.status_code == 302 and str(TrialSite.objects.get(pk=site.pk).closed_on) == "2026-10-01"
    assert AuditEvent.objects.filter(object_type="trials.trialsite", reason="site closed by the sponsor").count() == 1
