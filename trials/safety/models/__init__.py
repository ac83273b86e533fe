from trials.safety.models.clocks import ReportingClock
from trials.safety.models.events import AdverseEvent, AdverseEventVersion

__all__ = ["AdverseEvent", "AdverseEventVersion", "ReportingClock"]
