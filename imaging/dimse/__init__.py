"""The platform's DICOM network services (pynetdicom): the listener, its event handlers and the Modality Worklist."""
