"""Pure DICOM layer of the imaging intake (no Django models, no database).

- ``validate``: read an uploaded file, accept or reject it with a stable code, patient characteristics.
- ``deid``: PS3.15 Annex E de-identification in place, deterministic UID remapping, fast writing.
- ``profile``: the Annex E attribute table (versioned data with its source) and how it resolves.
"""
