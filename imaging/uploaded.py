"""Files a request brought (Django's UploadedFile) as the ingest takes them.

A request of up to FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) is read in memory and handed over as bytes: a temporary file's
create costs more here than a small instance's parse (imaging.services.prepare.IncomingFile). A larger one streams to
temporary files (settings.FILE_UPLOAD_HANDLERS), handed over by path, so no large body is held whole.
"""
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile

from imaging.services.ingest import IncomingFile


def incoming_file(uploaded: UploadedFile) -> IncomingFile:
    name = uploaded.name or ""
    if hasattr(uploaded, "temporary_file_path"):
        return IncomingFile(name, Path(uploaded.temporary_file_path()))
    uploaded.seek(0)
    return IncomingFile(name, data=uploaded.read())
