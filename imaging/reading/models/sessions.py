"""Blinded image-quality reading sessions: series in hidden arms, read in a per-reader random order.

Only data managers of every hospital see sessions, their items (with the arm labels) and the results.
A reader reaches their own assignment only, where each series is a neutral case code ("Case 07").
"""
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from registry.access import Action, ProgrammeModel, ProgrammeReaders, Scope, ScopedModel

# The four 5-point scales every case is scored on (1 = worst, 5 = best; for noise 5 = least noise).
SCALES = ("overall_quality", "noise", "lesion_conspicuity", "diagnostic_confidence")
LIKERT = [MinValueValidator(1), MaxValueValidator(5)]


class ReadingSession(ProgrammeModel):
    class Status(models.TextChoices):
        OPEN = "open", _("Reading")
        COMPLETE = "complete", _("All reads in")

    name = models.CharField(max_length=120)
    # Shown to readers: checked at creation to name no arm label.
    instructions = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # What the session was made for, named generically because the reading app may not import the apps that
    # use it (import-linter): e.g. ("lowdose_protocol", 7) for the reader study of low-dose protocol 7.
    purpose = models.CharField(max_length=40, blank=True)
    purpose_ref = models.PositiveIntegerField(null=True, blank=True)

    # Sessions hold the arm labels: data managers of the whole programme only.
    programme_readers = ProgrammeReaders.DATA_MANAGERS

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["purpose", "purpose_ref"], name="reading_session_purpose")]
        constraints = [models.CheckConstraint(condition=Q(purpose="") | Q(purpose_ref__isnull=False),
                                              name="reading_session_purpose_has_ref")]

    def __str__(self) -> str:
        return self.name


class SessionItem(ProgrammeModel):
    """One series of a session, in one arm (e.g. "low-dose" or "standard-dose"); paired by patient."""

    session = models.ForeignKey(ReadingSession, on_delete=models.PROTECT, related_name="items")
    series = models.ForeignKey("imaging.Series", on_delete=models.PROTECT, related_name="+")
    arm = models.CharField(max_length=40)
    # The pairing unit of the paired test: the series' patient (one series per arm per patient).
    patient = models.ForeignKey("registry.Patient", on_delete=models.PROTECT, related_name="+")

    programme_readers = ProgrammeReaders.DATA_MANAGERS

    class Meta:
        ordering = ["session", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "series"], name="session_series_once"),
            models.UniqueConstraint(fields=["session", "patient", "arm"], name="session_one_series_per_patient_arm"),
        ]


    def __str__(self) -> str:
        return f"session {self.session_id} series {self.series_id}"


class SessionLesion(ProgrammeModel):
    """A lesion of one patient of a session, judged by every reader in each arm's case of that patient.

    The lesions are the ones known beforehand (a lesion VOI on the reference series): each reader answers, per case,
    whether it is seen and how confident they are. Both arms' cases show the same list, so it reveals no arm. The
    site and centre are copied from the VOI (what the reader is shown); the VOI link only records where they came from.
    """

    session = models.ForeignKey(ReadingSession, on_delete=models.PROTECT, related_name="lesions")
    patient = models.ForeignKey("registry.Patient", on_delete=models.PROTECT, related_name="+")
    number = models.PositiveSmallIntegerField(help_text=_("1, 2, ... within the patient's cases"))
    site = models.CharField(max_length=64, blank=True)
    centre_mm = models.JSONField(null=True, blank=True, help_text=_("[x, y, z], LPS mm"))
    voi = models.ForeignKey("imaging.VoiMeasurement", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    programme_readers = ProgrammeReaders.DATA_MANAGERS

    class Meta:
        ordering = ["session", "patient", "number"]
        constraints = [
            models.UniqueConstraint(fields=["session", "patient", "number"], name="session_lesion_number_once"),
            models.UniqueConstraint(fields=["session", "voi"], condition=Q(voi__isnull=False), name="session_lesion_voi_once"),
        ]

    def __str__(self) -> str:
        return f"lesion {self.number} of session {self.session_id}"


class ReadingAssignment(ScopedModel):
    """One reader's work in a session; the case order comes from `seed` and is stored in AssignmentCase."""

    session = models.ForeignKey(ReadingSession, on_delete=models.PROTECT, related_name="assignments")
    reader = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="reading_assignments")
    seed = models.BigIntegerField()
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_hospital_path = None

    class Meta:
        ordering = ["session", "id"]
        constraints = [models.UniqueConstraint(fields=["session", "reader"], name="one_assignment_per_reader")]

    @classmethod
    def scope_q(cls, scope: Scope, action: Action) -> Q | None:  # noqa: ARG003
        # The reader's own, and nobody else's: not even a data manager reads another reader's sheet here
        # (they see progress and results on the session).
        return Q(reader_id=scope.user_id)

    def __str__(self) -> str:
        return f"assignment {self.pk} ({self.reader_id})"


class AssignmentCase(ScopedModel):
    """One series as one reader sees it: a position in their order and a neutral code, with their scores."""

    assignment = models.ForeignKey(ReadingAssignment, on_delete=models.PROTECT, related_name="cases")
    item = models.ForeignKey(SessionItem, on_delete=models.PROTECT, related_name="cases")
    position = models.PositiveSmallIntegerField()
    overall_quality = models.PositiveSmallIntegerField(null=True, blank=True, validators=LIKERT)
    noise = models.PositiveSmallIntegerField(null=True, blank=True, validators=LIKERT)
    lesion_conspicuity = models.PositiveSmallIntegerField(null=True, blank=True, validators=LIKERT)
    diagnostic_confidence = models.PositiveSmallIntegerField(null=True, blank=True, validators=LIKERT)
    scored_at = models.DateTimeField(null=True, blank=True)

    scope_hospital_path = None

    class Meta:
        ordering = ["assignment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "position"], name="case_position_unique"),
            models.UniqueConstraint(fields=["assignment", "item"], name="case_item_once"),
            *[models.CheckConstraint(condition=Q(**{f"{s}__isnull": True}) | Q(**{f"{s}__gte": 1, f"{s}__lte": 5}),
                                     name=f"case_{s}_1_to_5") for s in SCALES],
        ]

    @classmethod
    def scope_q(cls, scope: Scope, action: Action) -> Q | None:  # noqa: ARG003
        return Q(assignment__reader_id=scope.user_id)

    @property
    def code(self) -> str:
        return f"Case {self.position:02d}"

    def __str__(self) -> str:
        return self.code


class CaseLesionRead(ScopedModel):
    """A reader's call on one known lesion in one case: seen or not, and their confidence in that call
    (1 = a guess, 5 = certain)."""

    case = models.ForeignKey(AssignmentCase, on_delete=models.PROTECT, related_name="lesion_reads")
    lesion = models.ForeignKey(SessionLesion, on_delete=models.PROTECT, related_name="reads")
    seen = models.BooleanField()
    confidence = models.PositiveSmallIntegerField(validators=LIKERT)

    scope_hospital_path = None

    class Meta:
        ordering = ["case", "lesion"]
        constraints = [
            models.UniqueConstraint(fields=["case", "lesion"], name="case_lesion_read_once"),
            models.CheckConstraint(condition=Q(confidence__gte=1, confidence__lte=5), name="case_lesion_confidence_1_to_5"),
        ]

    @classmethod
    def scope_q(cls, scope: Scope, action: Action) -> Q | None:  # noqa: ARG003
        return Q(case__assignment__reader_id=scope.user_id)

    def __str__(self) -> str:
        return f"read of lesion {self.lesion_id} in case {self.case_id}"
