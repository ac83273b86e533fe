"""Reader score sheets for MIBG (Curie, SIOPEN) and 68Ga-DOTATATE (Krenning) studies."""
from typing import ClassVar

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from registry.access import ALL_HOSPITAL_ROLES, Action, HospitalRole, Scope, ScopedModel, TrialRole

# Scoring is a physician's read: investigators at the study's hospital, and data managers (adjudication).
READER_ROLES = frozenset({HospitalRole.INVESTIGATOR, HospitalRole.DATA_MANAGER})


class ScoreSheet(ScopedModel):
    """One reader's (or the adjudicator's consensus) score of one study under one scoring system.

    `values` holds the reader's input only: {segment code: score} for Curie and SIOPEN, or
    {"lesions": [{"site": ..., "score": 0-4}, ...]} for Krenning. `total` and `flag` are written by the
    submit service from nucmed.scoring, never typed.
    """

    class Kind(models.TextChoices):
        CURIE = "curie", _("Curie (123I-MIBG)")
        SIOPEN = "siopen", _("SIOPEN (123I-MIBG)")
        KRENNING = "krenning", _("Krenning (68Ga-DOTATATE)")

    class Role(models.TextChoices):
        READ = "read", _("Independent read")
        CONSENSUS = "consensus", _("Consensus / adjudication")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")

    class Timepoint(models.TextChoices):
        BASELINE = "baseline", _("Baseline (diagnosis)")
        POST_INDUCTION = "post_induction", _("After induction")
        PRE_CONSOLIDATION = "pre_consolidation", _("Before consolidation")
        END_OF_TREATMENT = "end_of_treatment", _("End of treatment")
        FOLLOW_UP = "follow_up", _("Follow-up / relapse")

    study = models.ForeignKey("imaging.ImagingStudy", on_delete=models.PROTECT, related_name="score_sheets")
    reader = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="score_sheets")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.READ)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    timepoint = models.CharField(max_length=20, choices=Timepoint.choices, blank=True)
    values = models.JSONField(default=dict, blank=True)
    total = models.PositiveSmallIntegerField(null=True, blank=True)
    # Above the cut-off (Curie > 2, SIOPEN > 3) on a post-induction sheet, where it is prognostic; null at other
    # time points and for Krenning (nucmed.scoring.is_flagged).
    flag = models.BooleanField(null=True, blank=True)
    comment = models.TextField(blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_hospital_path = "study__patient__hospital"
    scope_hospital_roles: ClassVar = {
        Action.VIEW: ALL_HOSPITAL_ROLES,
        Action.ADD: READER_ROLES,
        Action.CHANGE: READER_ROLES,
        Action.DELETE: frozenset(),
    }
    # A study of a trial subject: the trial's central readers read it, its monitors see the reads.
    scope_trial_path = "study__patient__trial_subjects__trial"
    scope_trial_roles: ClassVar = {
        Action.VIEW: frozenset({TrialRole.CENTRAL_READER, TrialRole.MONITOR}),
        Action.ADD: frozenset({TrialRole.CENTRAL_READER}),
        Action.CHANGE: frozenset({TrialRole.CENTRAL_READER}),
    }

    class Meta:
        ordering = ["study", "kind", "role", "submitted_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "kind", "reader"], condition=Q(role="read"),
                                    name="one_read_per_reader_study_kind"),
            models.UniqueConstraint(fields=["study", "kind"], condition=Q(role="consensus"),
                                    name="one_consensus_per_study_kind"),
            models.CheckConstraint(condition=Q(status="draft") | Q(submitted_at__isnull=False),
                                   name="submitted_sheet_has_time"),
        ]

    @classmethod
    def scope_q(cls, scope: Scope, action: Action) -> Q | None:
        """Hospital scope, then the reader rules that keep reads independent.

        A draft is its reader's alone (nobody else sees or edits it); only the author changes a sheet.
        While a user has a draft of a study under a scoring system, the other sheets of that study and
        system are hidden from them, so a second reader cannot look at the first read before scoring.
        """
        base = super().scope_q(scope, action)
        if base is None:
            return None
        if action != Action.VIEW:
            return base & Q(reader_id=scope.user_id)
        own_draft = cls._default_manager.filter(study=OuterRef("study"), kind=OuterRef("kind"), reader_id=scope.user_id,
                                                status=cls.Status.DRAFT)
        return base & (Q(reader_id=scope.user_id) | (Q(status=cls.Status.SUBMITTED) & ~Q(Exists(own_draft))))

    def __str__(self) -> str:
        return f"{self.kind} {self.role} of study {self.study_id} by {self.reader_id}"
