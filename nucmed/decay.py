"""Physical decay of a radionuclide (reference: docs/physics.md, sections 1 and 5).

A(t) = A(t0) x 2^(-(t - t0) / T½). Pure functions over numbers and timezone-aware datetimes; t - t0 is the
elapsed time between the two instants in UTC (nucmed/instants.py), never their wall-clock difference.
"""
import math
from datetime import datetime

from nucmed.instants import as_utc, elapsed_seconds


def decay_factor(elapsed_s: float, half_life_s: float) -> float:
    """The fraction of activity left after `elapsed_s` seconds: 2^(-t/T½) (section 5, "decayed dose").

    A negative elapsed time gives a factor above 1 (back-correction to an earlier time).
    Raises ValueError for a non-positive or non-finite half-life or a non-finite elapsed time.
    """
    if not (math.isfinite(half_life_s) and half_life_s > 0):
        raise ValueError(f"half-life must be a positive number of seconds, got {half_life_s!r}")
    if not math.isfinite(elapsed_s):
        raise ValueError(f"elapsed time must be a finite number of seconds, got {elapsed_s!r}")
    return 2.0 ** (-elapsed_s / half_life_s)


def decay_correct(activity_mbq: float, *, measured_at: datetime, to: datetime, half_life_s: float) -> float:
    """The activity at `to` of a source that measured `activity_mbq` at `measured_at`.

    Works in both directions (`to` before `measured_at` corrects backwards). Both datetimes must be aware: the
    decay time is the elapsed time between the two instants, so a calibration in one time zone and an
    administration in another, or the two sides of a daylight-saving change, compare correctly.
    """
    as_utc(measured_at, "measured_at")
    as_utc(to, "to")
    if not math.isfinite(activity_mbq) or activity_mbq < 0:
        raise ValueError(f"activity must be a non-negative number of MBq, got {activity_mbq!r}")
    return activity_mbq * decay_factor(elapsed_seconds(measured_at, to), half_life_s)


def net_administered_activity(
    *,
    calibrated_mbq: float,
    calibrated_at: datetime,
    administered_at: datetime,
    half_life_s: float,
    residual_mbq: float = 0.0,
    residual_at: datetime | None = None,
) -> float:
    """Net activity given to the patient, at the administration time.

    The syringe activity (measured at `calibrated_at`) decay-corrected to `administered_at`, minus the residual
    left in the syringe (measured at `residual_at`, default the administration time) corrected to the same time.
    Raises ValueError when the residual exceeds the administered activity (a data-entry error, not a negative dose).
    """
    given = decay_correct(calibrated_mbq, measured_at=calibrated_at, to=administered_at, half_life_s=half_life_s)
    left = 0.0
    if residual_mbq:
        left = decay_correct(residual_mbq, measured_at=residual_at or administered_at, to=administered_at, half_life_s=half_life_s)
    if left > given:
        raise ValueError(f"residual activity ({left:.3f} MBq at administration) exceeds the syringe activity ({given:.3f} MBq)")
    return given - left
