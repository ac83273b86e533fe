"""The analysis steps of the series pipeline (registered with @pipeline_step; see imaging/pipeline.py).

suv (20) -> dose (30) -> preview (40), after index (10). The SUV and preview steps share one read of
the pixel data: the first builds the series volume and caches it (imaging/volume.py), the second loads
it back. A step that does not apply to a series (SUV of a CT, previews of a dose report) records why
and is done, so the pipeline carries on.
"""
from typing import Any

from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import gettext_noop

from imaging import modalities
from imaging.models import Series
from imaging.pipeline import not_applicable, pipeline_step, report_progress
from imaging.services.dose import study_dose_compute, study_dose_up_to_date
from imaging.services.previews import series_previews_render
from imaging.services.suv import series_suv_compute
from imaging.volume import VolumeError, published_instances, series_volume


@pipeline_step("suv", order=20, label=_lazy("SUV"))
def suv_step(series: Series) -> dict[str, Any]:
    if not modalities.of(series.modality).quantified:
        return not_applicable(gettext_noop("SUV is computed for PET (PT) series; this one is %(modality)s."), modality=series.modality)
    result = series_suv_compute(series=series, progress=report_progress)
    if not result.quantifiable:
        return {"quantifiable": False, "reason": result.not_quantifiable_reason}
    return {"quantifiable": True, "suv_bw_factor": result.suv_bw_factor, "suv_max": result.suv_max}


@pipeline_step("dose", order=30, label=_lazy("Effective dose"))
def dose_step(series: Series) -> dict[str, Any]:
    # The dose is the study's: when another series' step already computed it from every image received, it stands.
    dose = study_dose_up_to_date(series.study) or study_dose_compute(study=series.study)
    return {"study_total_msv": dose.total_msv, "complete": dose.complete}


@pipeline_step("preview", order=40, label=_lazy("Previews"))
def preview_step(series: Series) -> dict[str, Any]:
    if not modalities.of(series.modality).preview_units:
        return not_applicable(gettext_noop("No images to preview in a %(modality)s series."), modality=series.modality)
    try:
        volume = series_volume(series, published_instances(series), progress=report_progress)
    except VolumeError as exc:
        return {"not_applicable": str(exc)}
    previews = series_previews_render(series=series, volume=volume)
    return {"previews": len(previews)}
