from imaging.models.analysis import DoseResult, Preview, SuvResult, VoiMeasurement
from imaging.models.studies import ImagingStudy, Instance, InstanceConflict, Series
from imaging.models.uploads import Upload

__all__ = ["DoseResult", "ImagingStudy", "Instance", "InstanceConflict", "Preview", "Series", "SuvResult", "Upload",
           "VoiMeasurement"]
