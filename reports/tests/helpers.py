"""A small deterministic cohort and trial for the report tests, written through the services where they exist."""
import io
import re
import zlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.files.storage import default_storage

from imaging.models import ImagingStudy
from imaging.models.analysis import DoseResult
from registry.models import FollowUpVisit, Patient, PatientIdentity, User
from registry.services.consent import consent_withdraw
from registry.tests.builders import consented_patient, identity, make_patient, record_visit, visit
from reports.models import ReportRun
from reports.services import report_run_request

AS_OF = date(2023, 6, 30)
WITHDRAWN_ON = date(2022, 1, 1)


@dataclass
class Cohort:
    p1: Patient  # A, high risk, progressed then died
    p2: Patient  # A, low risk, alive
    p3: Patient  # B, intermediate, alive
    p4: Patient  # A, withdrew data use on WITHDRAWN_ON
    p5: Patient  # B, very low risk, no registry consent, never seen
    identities: list[dict[str, str]] = field(default_factory=list)

    @property
    def included(self) -> list[Patient]:
        return [self.p1, self.p2, self.p3, self.p5]


_study_numbers = iter(range(1, 10_000))


def study(patient: Patient, on: date, *, tracer: str = "I123_MIBG", group: str = "spect_ct", msv: float | None = None) -> ImagingStudy:
    s = ImagingStudy.objects.create(patient=patient, study_uid=f"2.25.777{next(_study_numbers)}", study_date=on, tracer=tracer,
                                    modality_group=group, status=ImagingStudy.Status.READY)
    if msv is not None:
        DoseResult.objects.create(study=s, tracer=tracer, total_msv=msv, complete=True)
    return s


def make_cohort(actors: Any) -> Cohort:
    a = actors
    ids = [identity() for _ in range(5)]
    p1 = consented_patient(a.coordinator_a, a.hospital_a, ident=ids[0], birth_date=date(2019, 3, 15), diagnosis_date=date(2020, 9, 15),
                           inrg_risk="high", cog_risk="high", mycn="amplified", inrgss_stage="M")
    record_visit(a.coordinator_a, p1, 1)
    record_visit(a.coordinator_a, p1, 2, disease_status="PD", event_date=date(2021, 3, 1))
    death = visit(p1, 3).target_date
    record_visit(a.coordinator_a, p1, 3, vital_status="dead", death_date=death)
    p2 = consented_patient(a.coordinator_a, a.hospital_a, ident=ids[1], birth_date=date(2020, 1, 10), diagnosis_date=date(2020, 9, 15),
                           inrg_risk="low", cog_risk="low", mycn="not_amplified", inrgss_stage="L1", histology="favourable",
                           ploidy="hyperdiploid")
    record_visit(a.coordinator_a, p2, 1)
    record_visit(a.coordinator_a, p2, 2)
    p3 = consented_patient(a.coordinator_b, a.hospital_b, ident=ids[2], birth_date=date(2016, 1, 1), diagnosis_date=date(2021, 5, 1),
                           inrg_risk="intermediate", mycn="not_amplified", inrgss_stage="L2")
    record_visit(a.coordinator_b, p3, 1)
    p4 = consented_patient(a.coordinator_a, a.hospital_a, ident=ids[3], birth_date=date(2019, 6, 1), diagnosis_date=date(2020, 10, 1))
    record_visit(a.coordinator_a, p4, 1)
    consent_withdraw(actor=a.coordinator_a, consent=p4.consents.get(), withdrawn_on=WITHDRAWN_ON, scope="withdraw_data_use",
                     reason="family request")
    p5 = make_patient(a.coordinator_b, a.hospital_b, ident=ids[4], birth_date=date(2019, 12, 1), diagnosis_date=date(2021, 2, 1),
                      inrg_risk="very_low", mycn="unknown", inrgss_stage="MS", histology="favourable", ploidy="hyperdiploid")
    study(p1, date(2020, 9, 20), msv=5.0)
    study(p1, date(2021, 3, 10), tracer="F18_FDG", group="pet_ct", msv=7.0)
    study(p2, date(2021, 1, 5), msv=3.0)
    study(p4, date(2020, 10, 5), msv=100.0)
    return Cohort(*(Patient.objects.get(pk=p.pk) for p in (p1, p2, p3, p4, p5)), identities=ids)


def generate(actor: User, kind: str, params: dict[str, Any], capture: Any) -> ReportRun:
    """Request a run and let its task run (the caller uses the `eager` fixture)."""
    with capture(execute=True):
        run = report_run_request(actor=actor, kind=kind, params=params)
    run.refresh_from_db()
    assert run.status == ReportRun.Status.SUCCEEDED, run.error
    return run


def file_bytes(run: ReportRun, name: str) -> bytes:
    with default_storage.open(run.files.get(name=name).storage_key, "rb") as fh:
        return fh.read()


def csv_text(run: ReportRun, section: str) -> str:
    return file_bytes(run, f"{section}.csv").decode("utf-8")


def pdf_strings(pdf: bytes) -> str:
    """Text findable in a PDF without a PDF library (none is installed): the raw bytes plus every inflated stream,
    with UTF-16BE hex strings (how outline titles, i.e. the headings, are written) decoded."""
    chunks = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            chunks.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    text = b"\n".join(chunks).decode("latin-1")
    decoded = []
    for hexed in re.findall(r"<[Ff][Ee][Ff][Ff]([0-9A-Fa-f]+)>", text):  # pydyf writes the BOM in lower case
        try:
            decoded.append(bytes.fromhex(hexed).decode("utf-16-be"))
        except ValueError:
            continue
    return text + "\n" + "\n".join(decoded)


def xlsx_text(content: bytes) -> tuple[list[str], str]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True)
    values = [str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for v in row if v is not None]
    return book.sheetnames, "\n".join(values)


def identifiers(patients: list[Patient], idents: list[dict[str, str]]) -> list[str]:
    """Everything that must never leave: names, record numbers, guardian names and phones, study IDs."""
    found = [p.study_id for p in patients]
    for ident in idents:
        found += [v for v in ident.values() if v]
    assert PatientIdentity.objects.exists()
    return found


def visit_dates(patient: Patient) -> list[date]:
    return list(FollowUpVisit.objects.filter(patient=patient, status="done").values_list("visit_date", flat=True))
