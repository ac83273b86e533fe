"""Effective dose per administered activity, mSv/MBq, by age band (reference section 3).

A missing coefficient is absent from COEFFICIENTS (never a guessed value); MISSING_REASON says why.
"""
from dataclasses import dataclass

VERSION = "icrp-coefficients/nbnm-2026.1"
SOURCE = "ICRP 80 / 106 / 128 / 53 and Walker et al. as quoted in NBNM reference facts section 3"

AGE_BANDS: tuple[str, ...] = ("1y", "5y", "10y", "15y", "adult")


@dataclass(frozen=True)
class Coefficient:
    msv_per_mbq: float
    unverified: bool
    source: str


_MIBG_CHILD = "ICRP 80, children derived; verify against ICRP 128"
_FDG = "ICRP 106 / 128 commonly quoted"

COEFFICIENTS: dict[str, dict[str, Coefficient]] = {
    "I123_MIBG": {
        "adult": Coefficient(0.013, False, "ICRP 80"),
        # The reference asks for the child values to be verified against ICRP 128: flagged until a physicist does.
        "15y": Coefficient(0.017, True, _MIBG_CHILD),
        "10y": Coefficient(0.026, True, _MIBG_CHILD),
        "5y": Coefficient(0.036, True, _MIBG_CHILD),
        "1y": Coefficient(0.066, True, _MIBG_CHILD),
    },
    "F18_FDG": {
        "adult": Coefficient(0.019, False, _FDG),
        "15y": Coefficient(0.024, False, _FDG),
        "10y": Coefficient(0.037, False, _FDG),
        "5y": Coefficient(0.056, False, _FDG),
        "1y": Coefficient(0.095, False, _FDG),
    },
    "F18_NAF": {
        "adult": Coefficient(0.024, False, "ICRP 53"),
        "5y": Coefficient(0.086, False, "ICRP 53"),
    },
    "GA68_DOTATATE": {
        "adult": Coefficient(0.0257, False, "Walker et al. (adult only)"),
    },
}

MISSING_REASON: dict[str, str] = {
    "I123_MIBG": "no coefficient for this age band",
    "F18_FDG": "no coefficient for this age band",
    "F18_NAF": "18F-fluoride coefficients exist for adult and 5 y only (ICRP 53); other ages UNVERIFIED and not shipped",
    "GA68_DOTATATE": "68Ga-DOTATATE coefficient is adult only (Walker et al.); children UNVERIFIED and not shipped",
    "I131_MIBG": "no effective-dose coefficient for 131I-MIBG in the reference table",
}
