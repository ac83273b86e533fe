from imaging.reading.models.sessions import AssignmentCase, ReadingAssignment, ReadingSession, SessionItem
from imaging.reading.models.sheets import ScoreSheet

__all__ = ["AssignmentCase", "ReadingAssignment", "ReadingSession", "ScoreSheet", "SessionItem"]
