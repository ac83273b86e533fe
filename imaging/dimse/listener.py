"""The listener: one pynetdicom application entity offering Verification, every storage SOP class and the Modality
Worklist information model, started by `manage.py dicom_listener` or, in tests, in a thread on a free port."""
from typing import Any

from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts
from pynetdicom.sop_class import ModalityWorklistInformationFind, Verification

from imaging.dimse.handlers import HANDLERS


def application_entity(ae_title: str) -> AE:
    ae = AE(ae_title=ae_title)
    ae.maximum_associations = 32
    ae.network_timeout = 60  # a sender silent this long is dropped; what it sent is filed
    for context in AllStoragePresentationContexts:
        ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
    ae.add_supported_context(Verification)
    ae.add_supported_context(ModalityWorklistInformationFind)
    return ae


def start(*, ae_title: str, host: str, port: int, block: bool) -> Any:
    """Serve on (host, port); with block=False return the server (call .shutdown() to stop it)."""
    from imaging.dimse.worklist import WORKLIST_HANDLERS

    ae = application_entity(ae_title)
    return ae.start_server((host, port), block=block, evt_handlers=[*HANDLERS, *WORKLIST_HANDLERS])
