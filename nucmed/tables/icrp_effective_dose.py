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


# Cross-checked (not against ICRP 128 itself): the J Nucl Med table "Estimates of Critical Organ and Effective Dose for
# Common Pediatric Nuclear Medicine Procedures" (Table 1, based on ICRP 80; jnm.snmjournals.org highwire markup 68489) gives
# 123I-MIBG effective doses 3.4 / 3.8 / 4.5 / 5.0 / 4.8 mSv for 1 / 5 / 10 / 15 y / adult at 370 MBq scaled by weight
# 9.7 / 19.8 / 33.2 / 56.8 / 70 kg, i.e. 0.066 / 0.036 / 0.026 / 0.017 / 0.013 mSv/MBq, the values below to their two digits
# (nucmed/tests/test_effective_dose.py::test_mibg_children_match_icrp80_table). ICRP 128 was not read: they stay UNVERIFIED.
_MIBG_CHILD = "ICRP 80 children (agrees with J Nucl Med Table 1 based on ICRP 80); not verified against ICRP 128"
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
        # Confirmed by the SNMMI 18F-fluoride PET/CT guideline table (J Nucl Med; data from ICRP; jnm highwire markup 66143):
        # adult 0.024 mSv/MBq, child (5 y) 0.086 mSv/MBq.
        "adult": Coefficient(0.024, False, "ICRP 53 (SNMMI 18F-fluoride guideline table)"),
        "5y": Coefficient(0.086, False, "ICRP 53 (SNMMI 18F-fluoride guideline table)"),
    },
    "GA68_DOTATATE": {
        "adult": Coefficient(0.0257, False, "Walker et al. (adult only)"),
    },
}

MISSING_REASON: dict[str, str] = {
    "I123_MIBG": "no coefficient for this age band",
    "F18_FDG": "no coefficient for this age band",
    "F18_NAF": ("18F-fluoride: only adult and 5 y are shipped (ICRP 53, as tabulated by the SNMMI guideline); the ICRP 128 "
                "values for 1, 10 and 15 y were not read from ICRP 128 itself, so they are not shipped"),
    "GA68_DOTATATE": ("68Ga-DOTATATE: adult only (Walker et al.); no paediatric effective-dose estimate was read from a primary "
                      "source (ICRP 128's abstract lists its contents as compiled from ICRP 53, 80 and 106 plus 82Rb, iodide and "
                      "FPCIT: none is 68Ga-DOTATATE), so none is shipped"),
    "I131_MIBG": "no effective-dose coefficient for 131I-MIBG in the reference table",
}
