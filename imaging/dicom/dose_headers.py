"""What the dose calculation reads from DICOM headers: the administration and the CT exposure.

- Radiopharmaceutical Information Sequence (0054,0016): agent, RadionuclideTotalDose (Bq at the
  RadiopharmaceuticalStartDateTime/Time, i.e. at the administration), half-life, start date-time.
- CT images: CTDIvol (0018,9345) per image, CTDIPhantomTypeCodeSequence (0018,9346), BodyPartExamined,
  the slice positions (scan length).
- CT Radiation Dose SR (TID 10011): each irradiation event, i.e. each "CT Acquisition" container (113819,
  TID 10013), with its own DLP (113838), mean CTDIvol (113830), CTDIw phantom type (113835) and target region
  (123014); an SR with no event containers gives one exposure from "CT Dose Length Product Total" (113813).
- CT images: the HU of the central slice of a series, for the water-equivalent diameter (nucmed.ssde).

DICOM dates and times are local wall-clock values without a zone: they are returned naive and made
aware by the caller (the site's time zone).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pydicom.dataset import Dataset
from pydicom.valuerep import DA, DT, TM

# CID 4052 phantom codes.
PHANTOM_CM = {"113690": 16, "113691": 32, "113692": 16}  # IEC head, IEC body, IEC head (as 16 cm)
# Target regions (CID 4030), SCT and the retired SRT codes, to the k-factor table's regions.
REGION_CODES = {
    "69536005": "head", "T-D1100": "head", "774007": "head", "T-D1000": "head",  # head; head and neck
    "51185008": "chest", "43799004": "chest", "T-D3000": "chest",  # thorax / chest
    "818981001": "abdomen-pelvis", "T-D4000": "abdomen-pelvis", "416550000": "abdomen-pelvis", "T-D6000": "abdomen-pelvis",
    "818982008": "abdomen-pelvis", "816092008": "abdomen-pelvis",
    "38266002": "trunk", "T-D0010": "trunk", "416775004": "trunk", "T-D0020": "trunk",  # entire body; chest+abdomen+pelvis
}
# BodyPartExamined (PS3.16 Annex L defined terms) to the same regions.
BODY_PARTS = {
    "HEAD": "head", "BRAIN": "head", "SKULL": "head", "HEADNECK": "head",
    "CHEST": "chest", "THORAX": "chest", "LUNG": "chest",
    "ABDOMEN": "abdomen-pelvis", "PELVIS": "abdomen-pelvis", "ABDOMENPELVIS": "abdomen-pelvis",
    "WHOLEBODY": "trunk", "CHESTABDOMEN": "trunk", "CHESTABDPELVIS": "trunk", "TRUNK": "trunk",
}
@dataclass(frozen=True)
class Administration:
    agent: str
    total_dose_bq: float | None
    half_life_s: float | None
    administered_at: datetime | None  # naive, local
    from_time_only: bool  # the date was taken from SeriesDate (no RadiopharmaceuticalStartDateTime)


@dataclass(frozen=True)
class CtExposure:
    dlp_mgy_cm: float | None
    source: str  # "sr" | "ctdivol"
    phantom_cm: int | None
    region: str  # "" when the header does not say
    region_source: str
    ctdivol_mgy: float | None = None
    scan_length_cm: float | None = None
    reason: str = ""  # why dlp_mgy_cm is None


def _float(value: object) -> float | None:
    try:
        return float(value) if value not in (None, "") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _date(value: object) -> date | None:
    try:
        return DA(value) if value else None  # type: ignore[return-value]
    except ValueError:
        return None


def _time(value: object) -> datetime | None:
    try:
        return TM(value) if value else None  # type: ignore[return-value]
    except ValueError:
        return None


def administration(ds: Dataset) -> Administration | None:
    seq = ds.get("RadiopharmaceuticalInformationSequence")
    if not seq:
        return None
    item = seq[0]
    at: datetime | None = None
    from_time_only = False
    start_dt = item.get("RadiopharmaceuticalStartDateTime")
    if start_dt:
        try:
            parsed = DT(start_dt)
            at = parsed.replace(tzinfo=None) if parsed is not None else None
        except ValueError:
            at = None
    if at is None:
        start = _time(item.get("RadiopharmaceuticalStartTime"))
        day = _date(ds.get("SeriesDate")) or _date(ds.get("StudyDate"))
        series_time = _time(ds.get("SeriesTime"))
        if start is not None and day is not None:
            at = datetime.combine(day, start)  # type: ignore[arg-type]
            from_time_only = True
            # Injection before midnight, scan after it: a start time later than the series time was the day before.
            if series_time is not None and start > series_time:  # type: ignore[operator]
                at -= timedelta(days=1)
    return Administration(agent=str(item.get("Radiopharmaceutical", "") or ""), total_dose_bq=_float(item.get("RadionuclideTotalDose")),
                          half_life_s=_float(item.get("RadionuclideHalfLife")), administered_at=at, from_time_only=from_time_only)


def _phantom(ds: Dataset) -> int | None:
    seq = ds.get("CTDIPhantomTypeCodeSequence")
    return PHANTOM_CM.get(str(seq[0].get("CodeValue", ""))) if seq else None


def ct_exposure_from_images(datasets: list[Dataset], *, positions_mm: Iterable[float | None]) -> CtExposure:
    """DLP = mean CTDIvol x scan length (slice range plus one slice thickness), from the CT images' headers."""
    ctdi = [v for v in (_float(ds.get("CTDIvol")) for ds in datasets) if v is not None]
    phantoms = {p for p in (_phantom(ds) for ds in datasets) if p is not None}
    first = datasets[0]
    part = str(first.get("BodyPartExamined", "") or "").upper().replace(" ", "").replace("_", "")
    # Series and study descriptions are removed by the de-identification, so BodyPartExamined is what names the region.
    region, region_source = (BODY_PARTS[part], "BodyPartExamined") if part in BODY_PARTS else ("", "")
    zs = [z for z in positions_mm if z is not None]
    thickness = _float(first.get("SliceThickness")) or 0.0
    length_cm = ((max(zs) - min(zs)) + thickness) / 10.0 if zs else None
    phantom = next(iter(phantoms)) if len(phantoms) == 1 else None
    if len(phantoms) > 1:
        return CtExposure(None, "ctdivol", None, region, region_source, reason="The CT images mix 16 cm and 32 cm CTDI phantoms.")
    if not ctdi:
        return CtExposure(None, "ctdivol", phantom, region, region_source, reason="The CT images carry no CTDIvol (0018,9345).")
    if length_cm is None:
        return CtExposure(None, "ctdivol", phantom, region, region_source, reason="The CT images carry no slice positions.")
    mean = sum(ctdi) / len(ctdi)
    return CtExposure(round(mean * length_cm, 3), "ctdivol", phantom, region, region_source, ctdivol_mgy=round(mean, 4),
                      scan_length_cm=round(length_cm, 2))


def _concept(item: Dataset) -> str:
    seq = item.get("ConceptNameCodeSequence")
    return str(seq[0].get("CodeValue", "")) if seq else ""


def _walk(items: Iterable[Dataset]) -> Iterator[tuple[Dataset, list[Dataset]]]:
    """Every content item with its ancestors (so a DLP can be told apart by the container it sits in)."""
    stack: list[tuple[Dataset, list[Dataset]]] = [(it, []) for it in items]
    while stack:
        item, parents = stack.pop(0)
        yield item, parents
        stack.extend((child, [*parents, item]) for child in item.get("ContentSequence") or [])


def _numeric(item: Dataset) -> float | None:
    seq = item.get("MeasuredValueSequence")
    return _float(seq[0].get("NumericValue")) if seq else None


def _code(item: Dataset) -> str:
    seq = item.get("ConceptCodeSequence")
    return str(seq[0].get("CodeValue", "")) if seq else ""


def _event(container: Dataset) -> CtExposure:
    """One CT Acquisition container (TID 10013): its own DLP, CTDIvol, phantom and target region."""
    dlp = ctdivol = None
    phantom: int | None = None
    region = ""
    for item, _parents in _walk(container.get("ContentSequence") or []):
        concept = _concept(item)
        if concept == "113838":  # DLP
            dlp = _numeric(item)
        elif concept == "113830":  # Mean CTDIvol
            ctdivol = _numeric(item)
        elif concept == "113835":  # CTDIw Phantom Type
            phantom = PHANTOM_CM.get(_code(item), phantom)
        elif concept == "123014":  # Target Region
            region = REGION_CODES.get(_code(item), region)
    source = "SR target region" if region else ""
    if dlp is None:
        return CtExposure(None, "sr", phantom, region, source, ctdivol_mgy=ctdivol, reason="An irradiation event of the dose report has no DLP.")
    return CtExposure(round(dlp, 3), "sr", phantom, region, source, ctdivol_mgy=ctdivol)


def ct_exposures_from_sr(ds: Dataset) -> list[CtExposure]:
    """The CT irradiation events of an X-Ray Radiation Dose SR (TID 10011), each on its own; [] when it holds no CT dose.

    Each event keeps its own region and phantom, so a head and a trunk acquisition are dosed with their own k-factor.
    An SR without event containers but with a DLP total gives one exposure without region or phantom."""
    events = [_event(item) for item, _parents in _walk(ds.get("ContentSequence") or []) if _concept(item) == "113819"]
    if events:
        return events
    total = next((_numeric(item) for item, _parents in _walk(ds.get("ContentSequence") or []) if _concept(item) == "113813"), None)
    return [CtExposure(round(total, 3), "sr", None, "", "")] if total is not None else []
