"""VOI measurements: a reader places a sphere or a box on a PET series; nucmed computes the SUV statistics."""
from __future__ import annotations

from imaging.models import Series, VoiMeasurement
from registry.errors import ApplicationError
from registry.models import User


def voi_measure(*, actor: User, series: Series, shape: str, kind: str = VoiMeasurement.Kind.LESION, label: str = "",
                centre_mm: list[float] | None = None, radius_mm: float | None = None, box_min_mm: list[float] | None = None,
                box_max_mm: list[float] | None = None, threshold: str = VoiMeasurement.Threshold.PERCENT_41) -> VoiMeasurement:
    # Wired to nucmed.voi when it lands (the statistics are nucmed's, never computed here).
    raise ApplicationError("VOI statistics are not available yet.", code="not_available")
