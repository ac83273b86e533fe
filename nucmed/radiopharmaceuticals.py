"""The radiopharmaceutical catalogue of the programme (reference data, versioned, with sources).

Pure data and lookups: no Django. Half-lives and their sources: docs/physics.md, section 1.
"""
from dataclasses import dataclass

CATALOGUE_VERSION = "2026.1"
SOURCE = "NBNM reference facts, section 1 (half-lives: NIST/DDEP as quoted by QIBA and EANM)"


@dataclass(frozen=True)
class Radiopharmaceutical:
    code: str  # stable platform code, stored on studies and trials
    name: str
    nuclide: str
    half_life_s: float
    imaging: str  # "PET" or "SPECT"
    # Lower-case fragments that identify the agent in DICOM Radiopharmaceutical (0018,0031) text.
    dicom_names: tuple[str, ...]


CATALOGUE: tuple[Radiopharmaceutical, ...] = (
    Radiopharmaceutical("I123_MIBG", "123I-MIBG (iobenguane)", "I-123", 47592.0, "SPECT", ("mibg", "iobenguane")),
    Radiopharmaceutical("I131_MIBG", "131I-MIBG", "I-131", 8.02 * 86400, "SPECT", ("131i", "i-131", "i131")),
    Radiopharmaceutical("F18_FDG", "18F-FDG", "F-18", 6586.2, "PET", ("fdg", "fludeoxyglucose", "fluorodeoxyglucose")),
    Radiopharmaceutical("F18_NAF", "18F-NaF (sodium fluoride)", "F-18", 6586.2, "PET", ("naf", "fluoride")),
    Radiopharmaceutical("GA68_DOTATATE", "68Ga-DOTATATE", "Ga-68", 4062.6, "PET", ("dotatate", "dota", "ga-68", "ga68")),
)
BY_CODE = {r.code: r for r in CATALOGUE}
CHOICES = [(r.code, r.name) for r in CATALOGUE]


def identify(dicom_name: str | None, half_life_s: float | None = None) -> Radiopharmaceutical | None:
    """The catalogue agent named by a DICOM Radiopharmaceutical text, checked against its half-life when given.

    Order matters: 131I-MIBG is tested before 123I-MIBG, NaF before FDG ("fluoride" vs "fluoro").
    """
    text = (dicom_name or "").lower()
    order = ("I131_MIBG", "I123_MIBG", "F18_NAF", "F18_FDG", "GA68_DOTATATE")
    for code in order:
        agent = BY_CODE[code]
        if any(fragment in text for fragment in agent.dicom_names):
            if half_life_s and abs(half_life_s - agent.half_life_s) / agent.half_life_s > 0.02:
                continue
            return agent
    if half_life_s and not text.strip():  # no name: the half-life alone identifies the nuclide when only one agent has it
        matches = [a for a in CATALOGUE if abs(half_life_s - a.half_life_s) / a.half_life_s <= 0.02]
        if len(matches) == 1:
            return matches[0]
    return None
