"""Arranging reading tests: imaging studies and series as rows (the pixels are not needed to score them)."""
import io
import itertools
from datetime import date
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from imaging.models import ImagingStudy, Preview, Series
from imaging.reading import rules
from imaging.reading.models import ReadingSession, ScoreSheet
from imaging.reading.services.sessions import ItemInput, assignment_case_score, reading_session_create
from imaging.reading.services.sheets import score_sheet_create, score_sheet_submit
from registry.models import Hospital, Patient, User
from registry.tests.builders import consented_patient
from registry.tests.factories import MembershipFactory, UserFactory

_uids = itertools.count(1)


def patient_at(actor: User, hospital: Hospital) -> Patient:
    return consented_patient(actor, hospital, sex="M", birth_date=date(2019, 3, 15), diagnosis_date=date(2020, 9, 15))


def study_of(patient: Patient, *, tracer: str = "I123_MIBG", on: date = date(2020, 9, 20), modality: str = "NM",
             description: str = "SPECT MIBG RECON AC") -> ImagingStudy:
    n = next(_uids)
    study = ImagingStudy.objects.create(patient=patient, study_uid=f"2.25.{n}", study_date=on, tracer=tracer,
                                        modality_group="spect_ct" if modality == "NM" else "pet_ct",
                                        status=ImagingStudy.Status.READY)
    Series.objects.create(study=study, series_uid=f"2.25.9{n}", modality=modality, description=description,
                          number_of_instances=1, pipeline_state=Series.PipelineState.DONE)
    return study


def preview_of(series: Series) -> Preview:
    """A stored coronal MIP PNG for the series (what the preview step writes)."""
    buffer = io.BytesIO()
    Image.new("L", (8, 16), color=200).save(buffer, format="PNG")
    key = "previews/test/reading-grey.png"
    if not default_storage.exists(key):
        key = default_storage.save(key, ContentFile(buffer.getvalue()))
    return Preview.objects.create(series=series, kind=Preview.Kind.CORONAL_MIP, storage_key=key, width=8, height=16,
                                  units="SUV", window=[0, 6])


def series_of(study: ImagingStudy) -> Series:
    return study.series.get()


def investigator(hospital: Hospital, username: str) -> User:
    user = UserFactory(username=username)
    MembershipFactory(user=user, hospital=hospital, role="investigator")
    return user


def values(kind: str, scores: list[int] | int) -> dict[str, Any]:
    """Curie/SIOPEN: one score per segment in the system's order (or the same score everywhere)."""
    codes = rules.segment_codes(kind)
    scores = [scores] * len(codes) if isinstance(scores, int) else scores
    return dict(zip(codes, scores, strict=True))


def submitted(reader: User, study: ImagingStudy, kind: str, scores: list[int] | int | dict[str, Any],
              timepoint: str = "") -> ScoreSheet:
    data = scores if isinstance(scores, dict) else values(kind, scores)
    sheet = score_sheet_create(actor=reader, study=study, kind=kind, values=data, timepoint=timepoint)
    return score_sheet_submit(actor=reader, sheet=sheet)


def paired_session(actor: User, readers: list[User], patients: list[Patient], *, arms: tuple[str, str] = ("low-dose", "standard-dose"),
                   seed: int = 7, name: str = "Low dose vs standard", instructions: str = "Score each case.") -> ReadingSession:
    """One PET study per patient with a series per arm (descriptions that give the arm away, like the real ones)."""
    items = []
    for n, patient in enumerate(patients):
        study = study_of(patient, tracer="F18_FDG", modality="PT", on=date(2021, 1, 1 + n), description="PET WB FDG")
        low, std = series_of(study), Series.objects.create(
            study=study, series_uid=f"2.25.8{next(_uids)}", modality="PT", description="PET WB FDG STD",
            number_of_instances=1, pipeline_state=Series.PipelineState.DONE)
        low.description = "PET WB FDG LOW DOSE 3MIN"
        low.save(update_fields=["description"])
        preview_of(low), preview_of(std)
        items += [ItemInput(low, arms[0]), ItemInput(std, arms[1])]
    return reading_session_create(actor=actor, name=name, instructions=instructions, items=items, readers=readers,
                                  seed=seed)


def score_all(session: ReadingSession, scorer: Any) -> None:
    """Score every case; scorer(reader, item) -> the four scores."""
    for assignment in session.assignments.select_related("reader"):
        for case in assignment.cases.select_related("item").order_by("position"):
            assignment_case_score(actor=assignment.reader, case=case, scores=scorer(assignment.reader, case.item))
