"""North American consensus guidelines (SNMMI/SPR 2011, updated 2016): weight-based activity (reference section 2)."""
from dataclasses import dataclass

VERSION = "snmmi-spr-2016/nbnm-2026.1"
SOURCE = ("North American consensus guidelines for pediatric administered activity (SNMMI/SPR, J Nucl Med 2011; 2016 update) "
          "as quoted in NBNM reference facts section 2")


@dataclass(frozen=True)
class WeightBasedEntry:
    agent_code: str
    label: str
    mbq_per_kg: float  # the value used (for a range: the documented choice below)
    mbq_per_kg_range: tuple[float, float] | None  # the published range when the table gives one
    minimum_mbq: float
    maximum_mbq: float | None
    unverified: bool
    note: str


ENTRIES: tuple[WeightBasedEntry, ...] = (
    WeightBasedEntry("I123_MIBG", "123I-MIBG", 5.2, None, 37.0, 370.0, False, "table (J Nucl Med 2011)"),
    # The table gives 3.7-5.2 MBq/kg: the platform recommends the low end (ALARA); the range is reported in the detail.
    WeightBasedEntry("F18_FDG", "18F-FDG (body)", 3.7, (3.7, 5.2), 26.0, None, True,
                     "2016 minimum 26 MBq UNVERIFIED (37 MBq in 2011); low end of 3.7-5.2 MBq/kg used (ALARA)"),
    WeightBasedEntry("F18_NAF", "18F-NaF", 2.22, None, 14.0, 148.0, True,
                     "minimum UNVERIFIED; FDA label gives ~2.1 MBq/kg, min 19, max 148"),
    WeightBasedEntry("GA68_DOTATATE", "68Ga-DOTATATE", 2.0, None, 14.0, 185.0, True,
                     "UNVERIFIED; NETSPOT label: 2 MBq/kg up to 200 MBq"),
)

MISSING: dict[str, str] = {
    "I131_MIBG": "131I-MIBG has no row in the North American weight-based table",
}
