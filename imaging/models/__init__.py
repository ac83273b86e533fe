from imaging.models.analysis import DoseResult, Preview, SuvResult, VoiMeasurement
from imaging.models.network import DicomNode, ScheduledExam, UnmatchedInstance
from imaging.models.receipts import IntakeReceipt, IntakeSpool
from imaging.models.studies import ImagingStudy, Instance, InstanceConflict, Series
from imaging.models.uploads import IntakeConflict, Upload

__all__ = ["DicomNode", "DoseResult", "ImagingStudy", "Instance", "InstanceConflict", "IntakeConflict", "IntakeReceipt", "IntakeSpool",
           "Preview", "ScheduledExam", "Series", "SuvResult", "UnmatchedInstance", "Upload", "VoiMeasurement"]
