from trials.models.dosing import DosingRecord, ProtocolDeviation
from trials.models.screening import EligibilityCriterion, ScreeningAnswer, ScreeningRecord
from trials.models.subjects import AllocationSlot, RandomisationList, Subject, Unblinding
from trials.models.trials import Arm, ProtocolVersion, Trial, TrialMembership, TrialSite
from trials.models.visits import SubjectVisit, VisitDefinition

__all__ = [
    "AllocationSlot", "Arm", "DosingRecord", "EligibilityCriterion", "ProtocolDeviation", "ProtocolVersion",
    "RandomisationList", "ScreeningAnswer", "ScreeningRecord", "Subject", "SubjectVisit", "Trial", "TrialMembership",
    "TrialSite", "Unblinding", "VisitDefinition",
]
