"""Low-dose evaluation pages in the site-isolation matrix (see tests/matrix.py): protocols, a protocol's pairs, the
pairing forms, a pair's page and the retry of a failed evaluation.

The world is the low-dose API's (imaging/lowdose/tests/matrix_cases.py) and a failed pair of another study at
hospital A (to be retried). Protocols are programme-wide: every hospital member reads them, only a data manager of
every hospital defines them or pairs series (the others see the page, 403 on the form); pairs follow the child's
hospital (out of view 404).
"""
from imaging.lowdose.models import EvaluationPair
from imaging.lowdose.tests import matrix_cases as api
from registry.tests.matrix_cases import NOT_A, SEE_A
from tests.matrix import AUTHENTICATED, HOSPITAL_MEMBERS, Case, World, both, page_case, statuses

NOT_DM = api.NOT_DM
MEMBERS_NOT_DM = set(HOSPITAL_MEMBERS) - {"data_manager"}


def _failed_pair(world: World) -> None:
    a = world.actors
    _study, series = api._pet_study(a.coordinator_a, a.hospital_a)
    world.rows["pair_failed_a"] = EvaluationPair.objects.create(
        protocol=world["lowdose_protocol"], reference=series[0], test=series[1], source="manual", status="failed",
        error="The two series do not share a frame of reference.", requested_by=a.data_manager)


arrange = both(api.arrange, _failed_pair)
pair_row = lambda pair: f'data-pair-id="{pair.pk}"'  # noqa: E731


def _protocol_form(world: World, actor: str) -> dict[str, str]:
    return {"name": f"web {actor}", "reference_role": "standard", "test_role": "short_scan", "metric_0": "ssim", "bound_0": "min",
            "value_0": "0.9"}


CASES: list[Case] = [
    page_case("lowdose protocols page", "web-lowdose-protocols", statuses(kind="page", ok=AUTHENTICATED),
              universe=("lowdose_protocol",), row_id=lambda p: p.name,
              visible={**{actor: {"lowdose_protocol"} for actor in HOSPITAL_MEMBERS}, "nobody": set()}),
    page_case("lowdose protocol form", "web-lowdose-protocol-new", statuses(kind="page", ok={"data_manager"}, forbidden=NOT_DM)),
    page_case("lowdose protocol define", "web-lowdose-protocol-new",
              statuses(kind="page write", ok={"data_manager"}, forbidden=NOT_DM), method="post", data=_protocol_form),
    page_case("lowdose protocol page", "web-lowdose-protocol", statuses(kind="page", ok=HOSPITAL_MEMBERS, hidden={"nobody"}),
              args=lambda w: [w["lowdose_protocol"].pk], universe=("pair_a", "pair_b", "pair_failed_a"), row_id=pair_row,
              visible={**{actor: {"pair_a", "pair_failed_a"} for actor in SEE_A}, "coordinator_b": {"pair_b"},
                       "data_manager": {"pair_a", "pair_b", "pair_failed_a"}, "nobody": set()}),
    page_case("lowdose find pairs", "web-lowdose-pairs-find",
              statuses(kind="page write", ok={"data_manager"}, forbidden=MEMBERS_NOT_DM, hidden={"nobody"}), method="post",
              args=lambda w: [w["lowdose_protocol"].pk], data=lambda w, actor: {"study": w["lowdose_study_a"].pk}),
    page_case("lowdose assign pair", "web-lowdose-pair-assign",
              statuses(kind="page write", ok={"data_manager"}, forbidden=MEMBERS_NOT_DM, hidden={"nobody"}), method="post",
              args=lambda w: [w["lowdose_protocol"].pk],
              data=lambda w, actor: {"reference": w["pair_a"].reference_id, "test": w["lowdose_series_a"].pk}),
    page_case("lowdose pair page", "web-lowdose-pair", statuses(kind="page", ok=SEE_A, hidden=NOT_A), args=lambda w: [w["pair_a"].pk]),
    page_case("lowdose pair retry", "web-lowdose-pair-retry",
              statuses(kind="page write", ok={"data_manager"}, forbidden=SEE_A - {"data_manager"}, hidden=NOT_A), method="post",
              args=lambda w: [w["pair_failed_a"].pk], data=lambda w, actor: {}),
    # Reader studies name the arms: data managers of every hospital only (the reader is blind: a third hospital's).
    page_case("lowdose start reader study", "web-lowdose-reader-study",
              statuses(kind="page write", ok={"data_manager"}, forbidden=MEMBERS_NOT_DM, hidden={"nobody"}), method="post",
              args=lambda w: [w["lowdose_protocol"].pk], data=lambda w, actor: {"readers": ["lowdose_reader_c"], "evaluated_only": "on"}),
]
