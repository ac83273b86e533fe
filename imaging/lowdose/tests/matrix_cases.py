"""Endpoints of the low-dose evaluation in the site-isolation matrix (see tests/matrix.py).

Protocols are programme-wide designs: every hospital member sees them, a data manager of every hospital defines them.
Pairs follow the child's hospital; only a data manager adds them. Dose savings list what the actor may see.
"""
import itertools
from datetime import date

from imaging.lowdose.models import EvaluationPair
from imaging.lowdose.services import protocol_create
from imaging.models import ImagingStudy, Series
from registry.tests.builders import consented_patient
from registry.tests.factories import HospitalFactory, MembershipFactory, UserFactory
from registry.tests.matrix_cases import NOT_A, SEE_A
from registry.tests.matrix_cases import arrange as arrange_registry
from tests.matrix import AUTHENTICATED, HOSPITAL_MEMBERS, Case, World, statuses

_uids = itertools.count(1)
NOT_DM = {"coordinator_a", "investigator_a", "monitor_a", "coordinator_b", "nobody"}


def _pet_study(actor, hospital) -> tuple[ImagingStudy, list[Series]]:  # type: ignore[no-untyped-def]
    patient = consented_patient(actor, hospital, sex="F", birth_date=date(2019, 3, 15), diagnosis_date=date(2020, 9, 15))
    n = next(_uids)
    study = ImagingStudy.objects.create(patient=patient, study_uid=f"2.25.7{n}", study_date=date(2020, 9, 20), tracer="F18_FDG",
                                        modality_group="pet_ct", status=ImagingStudy.Status.READY)
    series = [Series.objects.create(study=study, series_uid=f"2.25.7{n}0{k}", modality="PT", series_number=k, number_of_instances=0,
                                    pipeline_state=Series.PipelineState.DONE) for k in (1, 2, 3)]
    return study, series


def arrange(world: World) -> None:
    arrange_registry(world)
    a = world.actors
    protocol = protocol_create(actor=a.data_manager, name="one sixth vs standard", test_role="low_activity")
    study_a, series_a = _pet_study(a.coordinator_a, a.hospital_a)
    study_b, series_b = _pet_study(a.coordinator_b, a.hospital_b)
    done = {"status": "succeeded", "progress": 100, "source": "manual", "requested_by": a.data_manager}
    world.rows.update({
        "lowdose_protocol": protocol, "lowdose_study_a": study_a, "lowdose_series_a": series_a[2],
        "pair_a": EvaluationPair.objects.create(protocol=protocol, reference=series_a[0], test=series_a[1], **done),
        "pair_b": EvaluationPair.objects.create(protocol=protocol, reference=series_b[0], test=series_b[1], **done),
    })
    # A reader blind to both children's series: an investigator at a third hospital (reader study cases).
    MembershipFactory(user=UserFactory(username="lowdose_reader_c"), hospital=HospitalFactory(), role="investigator")


CASES = [
    Case("lowdose protocol list", "lowdose-protocol-list", statuses(ok=AUTHENTICATED), universe=("lowdose_protocol",),
         visible={**{actor: {"lowdose_protocol"} for actor in HOSPITAL_MEMBERS}, "nobody": set()}),
    Case("lowdose protocol detail", "lowdose-protocol-detail", statuses(ok=HOSPITAL_MEMBERS, hidden={"nobody"}),
         args=lambda w: [w["lowdose_protocol"].pk]),
    Case("lowdose protocol define", "lowdose-protocol-list", statuses(ok={"data_manager"}, ok_status=201, forbidden=NOT_DM),
         method="post", data=lambda w, actor: {"name": f"short scan {actor}", "test_role": "short_scan"}),
    Case("lowdose pair list", "lowdose-pair-list", statuses(ok=AUTHENTICATED), universe=("pair_a", "pair_b"),
         visible={**{actor: {"pair_a"} for actor in SEE_A}, "coordinator_b": {"pair_b"}, "data_manager": {"pair_a", "pair_b"},
                  "nobody": set()}),
    Case("lowdose pair detail", "lowdose-pair-detail", statuses(ok=SEE_A, hidden=NOT_A), args=lambda w: [w["pair_a"].pk]),
    Case("lowdose pair assign", "lowdose-pair-list", statuses(ok={"data_manager"}, ok_status=201, forbidden=NOT_DM),
         method="post", data=lambda w, actor: {"protocol": w["lowdose_protocol"].pk, "reference": w["pair_a"].reference_id,
                                               "test": w["lowdose_series_a"].pk}),
    Case("lowdose pair find", "lowdose-pair-find", statuses(ok={"data_manager"}, forbidden=NOT_DM), method="post",
         data=lambda w, actor: {"protocol": w["lowdose_protocol"].pk, "study": w["lowdose_study_a"].pk}),
    # Reader studies name the arms: data managers of every hospital only; the protocol itself is visible to members.
    Case("lowdose reader study create", "lowdose-protocol-reader-study",
         statuses(ok={"data_manager"}, ok_status=201, forbidden=NOT_DM - {"nobody"}, hidden={"nobody"}), method="post",
         args=lambda w: [w["lowdose_protocol"].pk], data=lambda w, actor: {"readers": ["lowdose_reader_c"]}),
    Case("lowdose reader results", "lowdose-protocol-reader-results",
         statuses(ok={"data_manager"}, forbidden=NOT_DM - {"nobody"}, hidden={"nobody"}), args=lambda w: [w["lowdose_protocol"].pk]),
    Case("lowdose dose savings", "lowdose-dose-savings", statuses(ok=AUTHENTICATED)),
    Case("lowdose dose savings summary", "lowdose-dose-savings-summary", statuses(ok=AUTHENTICATED)),
]
