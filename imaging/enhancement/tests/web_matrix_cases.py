"""Enhancement model pages in the site-isolation matrix (see tests/matrix.py): the models, register, a model's page
with its runs, deactivate.

The world is the enhancement API's (imaging/enhancement/tests/matrix_cases.py): one model and a refused run at each
hospital. Models are programme-wide: every hospital member reads them, only a data manager of every hospital registers
or deactivates one (the others 403); a model's runs follow the source series' child's hospital.
"""
import io

from imaging.enhancement.tests import matrix_cases as api
from imaging.enhancement.tests.matrix_cases import arrange  # noqa: F401  (the world these cases run in)
from imaging.enhancement.tests.onnx_graphs import mean_filter_onnx, sha256
from registry.tests.matrix_cases import SEE_A
from tests.matrix import AUTHENTICATED, HOSPITAL_MEMBERS, Case, World, page_case, statuses

NOT_DM = api.NOT_DM
MEMBERS_NOT_DM = set(HOSPITAL_MEMBERS) - {"data_manager"}


def _register_form(world: World, actor: str) -> dict[str, object]:
    data = mean_filter_onnx()
    file = io.BytesIO(data)
    file.name = "model.onnx"
    return {"file": file, "sha256": sha256(data), "name": "mean3", "version": f"web {actor}", "modality": "PT", "units": "BQML",
            "voxel_row_mm": "2", "voxel_column_mm": "2", "voxel_slice_mm": "2", "voxel_tolerance_mm": "0.1",
            "max_activity_mbq_per_kg": "1", "normalisation": "body_mean", "body_mask_fraction": "0.05"}


CASES: list[Case] = [
    page_case("enhancement models page", "web-enhancement-models", statuses(kind="page", ok=AUTHENTICATED),
              universe=("enhancement_model",), row_id=lambda m: f'data-model-id="{m.pk}"',
              visible={**{actor: {"enhancement_model"} for actor in HOSPITAL_MEMBERS}, "nobody": set()}),
    page_case("enhancement register form", "web-enhancement-model-new", statuses(kind="page", ok={"data_manager"}, forbidden=NOT_DM)),
    page_case("enhancement register", "web-enhancement-model-new", statuses(kind="page write", ok={"data_manager"}, forbidden=NOT_DM),
              method="post", data=_register_form),
    page_case("enhancement model page", "web-enhancement-model", statuses(kind="page", ok=HOSPITAL_MEMBERS, hidden={"nobody"}),
              args=lambda w: [w["enhancement_model"].pk], universe=("enhancement_run_a", "enhancement_run_b"),
              row_id=lambda r: f'data-run-id="{r.pk}"',
              visible={**{actor: {"enhancement_run_a"} for actor in SEE_A}, "coordinator_b": {"enhancement_run_b"},
                       "data_manager": {"enhancement_run_a", "enhancement_run_b"}, "nobody": set()}),
    page_case("enhancement model deactivate", "web-enhancement-model-deactivate",
              statuses(kind="page write", ok={"data_manager"}, forbidden=MEMBERS_NOT_DM, hidden={"nobody"}), method="post",
              args=lambda w: [w["enhancement_model"].pk], data=lambda w, actor: {"reason": "replaced"}),
]
