"""EANM Paediatric Dosage Card, 2016 edition (reference section 2).

A[MBq] = baseline activity x multiple(weight row, class), never below the minimum activity.
"""
from dataclasses import dataclass

VERSION = "eanm-card-2016/nbnm-2026.1"
SOURCE = "EANM Paediatric Dosage Card (2016 edition) as quoted in NBNM reference facts section 2; FDG minima: Lassmann, EJNMMI 2008;35:1666"


@dataclass(frozen=True)
class CardEntry:
    agent_code: str
    acquisition: str | None  # "2D"/"3D" for FDG, None otherwise
    label: str
    agent_class: str  # "A", "B" or "C"
    baseline_mbq: float
    minimum_mbq: float
    unverified: bool
    note: str


ENTRIES: tuple[CardEntry, ...] = (
    CardEntry("I123_MIBG", None, "123I-mIBG", "B", 28.0, 37.0, True, "UNVERIFIED against the card itself"),
    CardEntry("F18_FDG", "2D", "18F-FDG, 2D acquisition", "B", 25.9, 26.0, False, "minimum confirmed (Lassmann, EJNMMI 2008;35:1666)"),
    CardEntry("F18_FDG", "3D", "18F-FDG, 3D acquisition", "B", 14.0, 14.0, False, "minimum confirmed (Lassmann, EJNMMI 2008;35:1666)"),
    CardEntry("GA68_DOTATATE", None, "68Ga-DOTA peptides", "B", 12.8, 14.0, True, "UNVERIFIED"),
)

# Agents of the catalogue the card has no row for, with the reason. 18F-NaF: the reference quotes a possible row
# (class B?, 10.5? MBq, minimum 14?) from the 2014 EANM/SNMMI harmonisation, unverified; the primary card could not be
# read for this release (docs/physics.md, "Dosage tables"), so no row is shipped: a trial on this card declares a
# fallback table for NaF or is refused at set-up.
MISSING: dict[str, str] = {
    "F18_NAF": ("18F-NaF has no row on the EANM card as shipped (not verified against the primary card): "
                "declare the North American table as the trial's fallback"),
    "I131_MIBG": "131I-MIBG (therapy/post-therapy imaging) has no diagnostic row on the EANM card",
}

# Weight rows: (lowest kg, highest kg) -> multiples for classes A, B, C. Rows "52-54" etc. span a range.
ROWS: tuple[tuple[float, float, dict[str, float]], ...] = tuple(
    (lo, hi, {"A": a, "B": b, "C": c})
    for lo, hi, a, b, c in (
        (3, 3, 1.0, 1.0, 1.0),
        (4, 4, 1.12, 1.14, 1.33),
        (6, 6, 1.47, 1.71, 2.00),
        (8, 8, 1.71, 2.14, 3.00),
        (10, 10, 1.94, 2.71, 3.67),
        (12, 12, 2.18, 3.14, 4.67),
        (14, 14, 2.35, 3.57, 5.67),
        (16, 16, 2.53, 4.00, 6.33),
        (18, 18, 2.71, 4.43, 7.33),
        (20, 20, 2.88, 4.86, 8.33),
        (22, 22, 3.06, 5.29, 9.33),
        (24, 24, 3.18, 5.71, 10.0),
        (26, 26, 3.35, 6.14, 11.0),
        (28, 28, 3.47, 6.43, 12.0),
        (30, 30, 3.65, 6.86, 13.0),
        (32, 32, 3.77, 7.29, 14.0),
        (34, 34, 3.88, 7.72, 15.0),
        (36, 36, 4.00, 8.00, 16.0),
        (38, 38, 4.18, 8.43, 17.0),
        (40, 40, 4.29, 8.86, 18.0),
        (42, 42, 4.41, 9.14, 19.0),
        (44, 44, 4.53, 9.57, 20.0),
        (46, 46, 4.65, 10.00, 21.0),
        (48, 48, 4.77, 10.29, 22.0),
        (50, 50, 4.88, 10.71, 23.0),
        (52, 54, 5.00, 11.29, 24.67),
        (56, 58, 5.24, 12.00, 26.67),
        (60, 62, 5.47, 12.71, 28.67),
        (64, 66, 5.65, 13.43, 31.0),
        (68, 68, 5.77, 14.00, 32.33),
    )
)
MIN_WEIGHT_KG = 3.0
MAX_WEIGHT_KG = 68.0
