from imaging.reading.models.comparison import ComparisonUnit, ReadingComparison, UnitRead
from imaging.reading.models.sessions import AssignmentCase, ReadingAssignment, ReadingSession, SessionItem
from imaging.reading.models.sheets import ScoreSheet

__all__ = ["AssignmentCase", "ComparisonUnit", "ReadingAssignment", "ReadingComparison", "ReadingSession", "ScoreSheet", "SessionItem",
           "UnitRead"]
