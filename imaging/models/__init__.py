from imaging.models.analysis import DoseResult, Preview, SuvResult, VoiMeasurement
from imaging.models.studies import ImagingStudy, Instance, InstanceConflict, Series
from imaging.models.uploads import IntakeConflict, Upload

__all__ = ["DoseResult", "ImagingStudy", "Instance", "InstanceConflict", "IntakeConflict", "Preview", "Series", "SuvResult",
           "Upload", "VoiMeasurement"]
