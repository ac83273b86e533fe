"""The "enhance" step of the series pipeline (order 50, after index, suv, dose and preview).

Registered from this sub-app's AppConfig.ready with imaging.pipeline.pipeline_step, so imaging itself never imports
imaging.enhancement (the import contract in pyproject.toml). A model that refuses (checksum, input contract) is
recorded in the step's result and on an EnhancementRun row; the step is still done, so the series' own analysis
stands. A failure of ONNX Runtime itself fails the step like any other step (retry from the series page).
"""
from typing import Any

from imaging.enhancement.runtime import ModelRefused
from imaging.models import Series
from imaging.pipeline import pipeline_step


@pipeline_step("enhance", order=50)
def enhance_step(series: Series) -> dict[str, Any]:
    from imaging.enhancement.services import series_enhance

    try:
        return series_enhance(series)
    except ModelRefused as exc:
        return {"not_applicable": str(exc)}
