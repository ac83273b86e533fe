"""CT effective dose per DLP, k in mSv/(mGy·cm), by body region and age (reference section 4)."""

VERSION = "ct-k-factors-shrimpton/nbnm-2026.1"
SOURCE = "Shrimpton (ICRP 60 tissue weights), as tabulated in PMC3326072; NBNM reference facts section 4"

AGE_BANDS: tuple[str, ...] = ("0y", "1y", "5y", "10y", "adult")
REGIONS: tuple[str, ...] = ("head", "chest", "abdomen_pelvis", "trunk")

K_FACTORS: dict[str, dict[str, float]] = {
    "head": {"0y": 0.011, "1y": 0.0067, "5y": 0.0040, "10y": 0.0032, "adult": 0.0021},
    "chest": {"0y": 0.039, "1y": 0.026, "5y": 0.018, "10y": 0.013, "adult": 0.014},
    "abdomen_pelvis": {"0y": 0.049, "1y": 0.030, "5y": 0.020, "10y": 0.015, "adult": 0.015},
    "trunk": {"0y": 0.044, "1y": 0.028, "5y": 0.019, "10y": 0.014, "adult": 0.015},  # whole body
}
# None of these values is marked UNVERIFIED in the reference.
UNVERIFIED = False
