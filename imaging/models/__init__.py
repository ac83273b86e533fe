from imaging.models.studies import ImagingStudy, Instance, InstanceConflict, Series
from imaging.models.uploads import Upload

__all__ = ["ImagingStudy", "Instance", "InstanceConflict", "Series", "Upload"]
