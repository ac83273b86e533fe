"""The programme's headline comparison (surgical-site planar vs SPECT/CT), built from individual synthetic reads.

43 reference-positive lesions: planar detects 28 (65.1 %), SPECT/CT 40 (93.0 %), every planar detection also seen
on SPECT/CT; 38 reference-negative lesions: planar correctly negative in 35 (92.1 %), SPECT/CT in 38 (100 %).
Each lesion is one unit with its own reference standard and two reads; the percentages are never typed in.
Used by the demo seeder and by the report tests.
"""
import random
from collections.abc import Sequence
from dataclasses import dataclass

from imaging.reading.models import ReadingComparison
from imaging.reading.services.comparison import comparison_unit_create, reading_comparison_create, unit_read_record
from registry.models import Patient, User

NAME = "Surgical site: planar vs SPECT/CT (123I-MIBG)"
SITES = ("adrenal bed", "para-aortic node", "renal hilum", "retrocrural node", "coeliac node", "paravertebral", "pelvic node")


@dataclass(frozen=True)
class Lesion:
    reference_positive: bool
    planar_positive: bool
    spect_positive: bool


def headline_lesions() -> list[Lesion]:
    """(reference, planar, SPECT/CT) per lesion: the joint counts of the headline 2x2 tables."""
    positive = [Lesion(True, True, True)] * 28 + [Lesion(True, False, True)] * 12 + [Lesion(True, False, False)] * 3
    # Specificity: planar calls 3 negative lesions positive (post-surgical uptake); SPECT/CT localises them correctly.
    negative = [Lesion(False, False, False)] * 35 + [Lesion(False, True, False)] * 3
    return positive + negative


def seed_headline_comparison(*, actor: User, patients: Sequence[Patient], seed: int = 20261128) -> ReadingComparison:
    """Create the comparison and spread its 81 lesions over `patients` (shuffled with a fixed seed); idempotent by name."""
    existing = ReadingComparison.objects.filter(name=NAME).first()
    if existing:
        return existing
    comparison = reading_comparison_create(actor=actor, name=NAME, method_a="planar", method_b="SPECT/CT",
                                           description="Lesions at the primary surgical site; reference: histopathology "
                                                       "where resected, otherwise 6-month imaging and clinical follow-up.")
    lesions = headline_lesions()
    random.Random(seed).shuffle(lesions)
    for n, lesion in enumerate(lesions):
        patient = patients[n % len(patients)]
        label = f"{SITES[n % len(SITES)]} #{n // len(SITES) + 1}"
        unit = comparison_unit_create(actor=actor, comparison=comparison, patient=patient, label=label,
                                      reference_positive=lesion.reference_positive,
                                      reference_source="histopathology" if n % 3 else "follow_up")
        unit_read_record(actor=actor, unit=unit, method="a", positive=lesion.planar_positive)
        unit_read_record(actor=actor, unit=unit, method="b", positive=lesion.spect_positive)
    return comparison
