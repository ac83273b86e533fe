from imaging.reading.models.comparison import ComparisonUnit, ReadingComparison, UnitRead
from imaging.reading.models.sessions import (
    AssignmentCase,
    CaseLesionRead,
    ReadingAssignment,
    ReadingSession,
    SessionItem,
    SessionLesion,
)
from imaging.reading.models.sheets import ScoreSheet

__all__ = ["AssignmentCase", "CaseLesionRead", "ComparisonUnit", "ReadingAssignment", "ReadingComparison", "ReadingSession",
           "ScoreSheet", "SessionItem", "SessionLesion", "UnitRead"]
