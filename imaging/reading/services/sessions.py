"""Blinded image-quality reading sessions: creation, per-reader random order, scoring, completion."""
import hashlib
import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imaging.models import Series, VoiMeasurement
from imaging.reading.models import AssignmentCase, CaseLesionRead, ReadingAssignment, ReadingSession, SessionItem, SessionLesion
from imaging.reading.models.sessions import SCALES
from registry.access import Action, Rule, ensure_in_scope, may
from registry.audit import audit_record
from registry.errors import ApplicationError
from registry.models import User
from registry.services.common import validate

ARMS_PER_SESSION = 2


@dataclass(frozen=True)
class ItemInput:
    series: Series
    arm: str


@dataclass(frozen=True)
class LesionInput:
    """A lesion known beforehand in a patient of the session; every reader judges it in each arm's case."""

    patient_id: int
    site: str = ""
    centre_mm: list[float] | None = None
    voi: VoiMeasurement | None = None


@dataclass(frozen=True)
class LesionRead:
    """A reader's call on lesion `number` of a case: seen or not, and the confidence in the call (1-5)."""

    number: int
    seen: bool
    confidence: int


def _fail(field: str, message: str, code: str = "invalid") -> ApplicationError:
    return ApplicationError(message, code=code, fields={field: [message]})


def reader_seed(base: int, reader_id: int) -> int:
    """A reader's shuffle seed derived from a session seed: reproducible demo data, distinct orders per reader."""
    return int.from_bytes(hashlib.sha256(f"{base}:{reader_id}".encode()).digest()[:7], "big")


def _check_items(items: Sequence[ItemInput]) -> dict[str, list[ItemInput]]:
    if not items:
        raise _fail("items", _("A session needs series to read."))
    if len({i.series.pk for i in items}) != len(items):
        raise _fail("items", _("A series appears twice in the session."))
    by_arm: dict[str, list[ItemInput]] = {}
    for item in items:
        arm = item.arm.strip()
        if not arm:
            raise _fail("items", _("Every series needs an arm label."))
        by_arm.setdefault(arm, []).append(ItemInput(item.series, arm))
    if len(by_arm) != ARMS_PER_SESSION:
        raise _fail("items", _("A session compares exactly two arms (got %(count)s: %(arms)s).")
                     % {"count": len(by_arm), "arms": ", ".join(sorted(by_arm))})
    # Paired design: every patient contributes one series to each arm.
    arms_of: dict[int, list[str]] = {}
    for arm, arm_items in by_arm.items():
        for item in arm_items:
            arms_of.setdefault(item.series.study.patient_id, []).append(arm)
    unpaired = [item.series.pk for item in items if sorted(arms_of[item.series.study.patient_id]) != sorted(by_arm)]
    if unpaired:
        raise _fail("items", _("Each patient must have exactly one series in each arm (the test is paired by patient); "
                               "series %(series)s are not paired that way.") % {"series": ", ".join(map(str, unpaired))})
    return by_arm


def _check_readers(readers: Sequence[User], series_ids: list[int]) -> None:
    if not readers:
        raise _fail("readers", _("A session needs at least one reader."))
    if len({r.pk for r in readers}) != len(readers):
        raise _fail("readers", _("A reader is listed twice."))
    for reader in readers:
        if not reader.is_active or not may(reader, Rule.HOLD_A_ROLE):
            raise _fail("readers", _("%(reader)s holds no role on the platform and cannot sign in to read.")
                        % {"reader": reader.get_username()})
        # Blinding: a reader who can open these series through the imaging API would see the series
        # description, the DICOM dose attributes and the arm they imply.
        if Series.objects.restrict(reader, Action.VIEW).filter(pk__in=series_ids).exists():
            raise _fail("readers", _("%(reader)s can open some of these series at their own hospital, where the dose level "
                                     "is visible; choose a reader from another hospital.") % {"reader": reader.get_username()},
                        code="reader_not_blind")


def _lesion_rows(session: ReadingSession, lesions: Sequence[LesionInput]) -> list[SessionLesion]:
    """Number each patient's lesions 1, 2, ... in the order given; every lesion's patient must be in the session."""
    patients = set(session.items.values_list("patient_id", flat=True))
    numbers: dict[int, int] = {}
    rows = []
    for lesion in lesions:
        if lesion.patient_id not in patients:
            raise _fail("lesions", _("A lesion belongs to a patient who has no series in the session."))
        numbers[lesion.patient_id] = numbers.get(lesion.patient_id, 0) + 1
        rows.append(SessionLesion(session=session, patient_id=lesion.patient_id, number=numbers[lesion.patient_id],
                                  site=lesion.site[:64], centre_mm=lesion.centre_mm, voi=lesion.voi))
    return rows


@transaction.atomic
def reading_session_create(*, actor: User, name: str, items: Sequence[ItemInput], readers: Sequence[User],
                           instructions: str = "", seed: int | None = None, lesions: Sequence[LesionInput] = (),
                           purpose: str = "", purpose_ref: int | None = None) -> ReadingSession:
    """Create a session with its arms and readers; each reader gets every series in their own random order.

    `seed` makes the orders reproducible (demo); otherwise a random seed per reader is drawn and stored.
    `lesions` are judged (seen, confidence) in every case of their patient; `purpose`/`purpose_ref` name what the
    session was made for (e.g. "lowdose_protocol", 7), for the app that made it to find it again.
    """
    if not may(actor, Action.ADD, ReadingSession):
        raise ApplicationError(_("Only data managers of the whole programme create reading sessions."), code="not_allowed")
    visible = set(Series.objects.restrict(actor, Action.VIEW).filter(pk__in=[i.series.pk for i in items])
                  .values_list("pk", flat=True))
    if any(i.series.pk not in visible for i in items):
        raise _fail("items", _("Some series do not exist."))
    by_arm = _check_items(items)
    series_ids = [i.series.pk for i in items]
    _check_readers(readers, series_ids)
    lowered = instructions.lower()
    if any(arm.lower() in lowered for arm in by_arm):
        raise _fail("instructions", _("The instructions shown to readers must not name an arm."))
    session = ReadingSession(name=name.strip(), instructions=instructions.strip(), created_by=actor, purpose=purpose,
                             purpose_ref=purpose_ref)
    validate(session, exclude=["created_by"])
    session.save()
    rows = [SessionItem(session=session, series=i.series, arm=i.arm, patient_id=i.series.study.patient_id)
            for arm_items in by_arm.values() for i in arm_items]
    SessionItem.objects.bulk_create(rows)
    rows.sort(key=lambda r: r.pk)
    lesion_rows = SessionLesion.objects.bulk_create(_lesion_rows(session, lesions))
    for reader in readers:
        reader_seed_value = reader_seed(seed, reader.pk) if seed is not None else secrets.randbits(53)
        assignment = ReadingAssignment.objects.create(session=session, reader=reader, seed=reader_seed_value)
        order = list(rows)
        random.Random(reader_seed_value).shuffle(order)
        AssignmentCase.objects.bulk_create(AssignmentCase(assignment=assignment, item=item, position=n)
                                           for n, item in enumerate(order, start=1))
    ensure_in_scope(session, user=actor, action=Action.ADD)
    # No hospital on the event: the arms are in it, so only programme-wide data managers read it.
    audit_record(actor=actor, action="create", instance=session,
                 after={"name": session.name, "items": [{"series": r.series_id, "arm": r.arm} for r in rows],
                        "readers": [r.pk for r in readers], "lesions": len(lesion_rows),
                        **({"purpose": purpose, "purpose_ref": purpose_ref} if purpose else {})})
    return session


def case_lesions(case: AssignmentCase) -> list[SessionLesion]:
    """The lesions to judge in a case: its patient's, in the session (the same list in both arms' cases)."""
    return list(SessionLesion.objects.filter(session_id=case.item.session_id, patient_id=case.item.patient_id).order_by("number"))


def _check_lesion_reads(case: AssignmentCase, reads: Sequence[LesionRead]) -> dict[int, tuple[SessionLesion, LesionRead]]:
    lesions = {lesion.number: lesion for lesion in case_lesions(case)}
    given: dict[int, LesionRead] = {}
    for read in reads:
        if read.number not in lesions or read.number in given:
            raise _fail("lesions", _("Lesion %(n)s is not in this case or is answered twice.") % {"n": read.number})
        if not 1 <= read.confidence <= 5:  # noqa: PLR2004 (the 5-point scale)
            raise _fail("lesions", _("Confidence is 1 to 5."))
        given[read.number] = read
    missing = sorted(set(lesions) - set(given))
    if missing:
        raise _fail("lesions", _("Say for every lesion whether you see it (missing: %(numbers)s).")
                    % {"numbers": ", ".join(map(str, missing))})
    return {n: (lesions[n], given[n]) for n in sorted(lesions)}


@transaction.atomic
def assignment_case_score(*, actor: User, case: AssignmentCase, scores: Mapping[str, int],
                          lesions: Sequence[LesionRead] = ()) -> AssignmentCase:
    """A reader scores (or re-scores, until every read is in) one case on the four 5-point scales, and calls every
    known lesion of the case seen or not, with a confidence."""
    case = AssignmentCase.objects.restrict(actor, Action.CHANGE).select_for_update().filter(pk=case.pk).first()
    if case is None:
        raise ApplicationError(_("This case is not in your reading list."), code="out_of_scope")
    session = ReadingSession.objects.select_for_update().get(pk=case.assignment.session_id)
    if session.status == ReadingSession.Status.COMPLETE:
        raise ApplicationError(_("Every read of this session is in; scores can no longer change."), code="session_complete")
    missing = [s for s in SCALES if scores.get(s) is None]
    unknown = sorted(set(scores) - set(SCALES))
    if missing or unknown:
        raise ApplicationError(_("Score all four scales, 1 to 5."), code="invalid",
                               fields={**{s: [_("This field is required.")] for s in missing},
                                       **{s: [_("Unknown scale.")] for s in unknown}})
    lesion_reads = _check_lesion_reads(case, lesions)
    before: dict[str, object] | None = None
    if case.scored_at:
        before = {s: getattr(case, s) for s in SCALES}
        if lesion_reads:
            before["lesions"] = {str(r.lesion.number): [r.seen, r.confidence] for r in case.lesion_reads.select_related("lesion")}
    for scale in SCALES:
        setattr(case, scale, scores[scale])
    case.scored_at = timezone.now()
    validate(case)
    case.save()
    for lesion, read in lesion_reads.values():
        CaseLesionRead.objects.update_or_create(case=case, lesion=lesion,
                                                defaults={"seen": read.seen, "confidence": read.confidence})
    ensure_in_scope(case, user=actor, action=Action.CHANGE)
    after: dict[str, object] = {s: scores[s] for s in SCALES}
    if lesion_reads:
        after["lesions"] = {str(n): [read.seen, read.confidence] for n, (_lesion, read) in lesion_reads.items()}
    audit_record(actor=actor, action="rescore" if before else "score", instance=case, before=before, after=after)
    _complete_if_done(case.assignment, session)
    return case


def _complete_if_done(assignment: ReadingAssignment, session: ReadingSession) -> None:
    now = timezone.now()
    if assignment.completed_at is None and not assignment.cases.filter(scored_at__isnull=True).exists():
        assignment.completed_at = now
        assignment.save(update_fields=["completed_at"])
    if not ReadingAssignment.objects.filter(session=session, completed_at__isnull=True).exists():
        session.status, session.completed_at = ReadingSession.Status.COMPLETE, now
        session.save(update_fields=["status", "completed_at"])
        audit_record(actor=assignment.reader, action="complete", instance=session,
                     after={"status": session.status, "completed_at": now})
