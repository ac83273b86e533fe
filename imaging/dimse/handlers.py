"""Event handlers of the listener. An association is accepted only from a registered, active calling AE title (and its
address when one is registered); each C-STORE is spooled whole (written under a temporary name, then renamed) and answered
Success; when the association ends, released or aborted or dropped, what arrived is filed (imaging.services.network).
"""
import logging
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections
from pynetdicom import evt

from imaging.models import DicomNode
from imaging.services.network import association_file, dicom_node_for
from registry.context import work_context

logger = logging.getLogger(__name__)

# PS3.8 A-ASSOCIATE-RJ: rejected-permanent (1), by the service user (1), calling AE title not recognised (3).
_REJECT_UNKNOWN_CALLING_AE = (0x01, 0x01, 0x03)
_SUCCESS, _OUT_OF_RESOURCES = 0x0000, 0xA700
# How many associations this process has finished filing (the listener's progress; tests wait on it, not on the database).
associations_filed = 0


class _State:
    """What the listener knows of one association: the node it comes from, its id and its spool folder."""

    def __init__(self, node: DicomNode) -> None:
        self.node = node
        self.id = uuid.uuid4().hex
        self.spool = Path(settings.DICOM_SPOOL_DIR) / f"{node.pk}-{self.id}"
        self.filed = False
        self.lock = threading.Lock()


def _state(event: Any) -> _State | None:
    return getattr(event.assoc, "nbnm_state", None)


def release_database() -> None:
    """Close this thread's database connections once a handler is done with the database. Each association runs in a
    thread of its own that ends with it, and a connection an ended thread leaves open is closed only when the garbage
    collector reaches its wrapper (it sits in reference cycles): one idle PostgreSQL session per ended association,
    held until a collection runs. The cost is a connect per handler that reads the database, a few per association."""
    connections.close_all()


def on_requested(event: Any) -> None:
    calling = str(event.assoc.requestor.primitive.calling_ae_title or "")  # the request as received; negotiation copies it later
    address = event.assoc.requestor.address
    try:
        node = dicom_node_for(calling_ae_title=calling, address=address)
    finally:
        release_database()
    if node is None:
        logger.warning("association refused: calling AE title not registered or from another address")
        event.assoc.acse.send_reject(*_REJECT_UNKNOWN_CALLING_AE)
        event.assoc.kill()  # as pynetdicom's own rejection does: waits until the reject is on the wire
        return
    event.assoc.nbnm_state = _State(node)


def on_echo(event: Any) -> int:
    return _SUCCESS


def on_store(event: Any) -> int:
    state = _state(event)
    if state is None:  # not reached: unknown callers are rejected before any DIMSE message
        return _OUT_OF_RESOURCES
    state.spool.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex  # not the SOP instance UID: a sender's UID may be malformed, and the ingest judges it
    partial = state.spool / f".{name}.part"
    try:
        partial.write_bytes(event.encoded_dataset())
        os.replace(partial, state.spool / f"{name}.dcm")  # a file in the spool is always whole
    except OSError:
        logger.exception("association %s: could not spool an instance", state.id)
        partial.unlink(missing_ok=True)
        return _OUT_OF_RESOURCES
    return _SUCCESS


def on_ended(event: Any) -> None:
    """Released, aborted or dropped: file what arrived, once."""
    state = _state(event)
    if state is None:
        return
    with state.lock:
        if state.filed:
            return
        state.filed = True
    file_spool(state.node, state.id, state.spool)


def file_spool(node: DicomNode, association: str, spool: Path) -> None:
    paths = sorted(spool.glob("*.dcm")) if spool.is_dir() else []
    try:
        if paths:
            with work_context(source="dimse", request_id=association):
                filed = association_file(node=node, association=association, paths=paths)
            logger.info("association %s: %s instances, %s uploads, %s unmatched", association, len(paths), len(filed.uploads),
                        filed.unmatched)
        shutil.rmtree(spool, ignore_errors=True)
    except Exception:  # the spool stays; the listener files it at its next start
        logger.exception("association %s: filing failed; spool kept", association)
    finally:
        release_database()
        global associations_filed
        associations_filed += 1


def file_leftover_spools() -> int:
    """File the spools an interrupted listener left (their association id is in the folder name)."""
    root = Path(settings.DICOM_SPOOL_DIR)
    count = 0
    for spool in sorted(root.glob("*-*")) if root.is_dir() else []:
        node_id, _sep, association = spool.name.partition("-")
        node = DicomNode.objects.select_related("hospital", "device_user").filter(pk=int(node_id)).first() if node_id.isdigit() else None
        if node is None:
            continue
        file_spool(node, association, spool)
        count += 1
    return count


HANDLERS = [
    (evt.EVT_REQUESTED, on_requested),
    (evt.EVT_C_ECHO, on_echo),
    (evt.EVT_C_STORE, on_store),
    (evt.EVT_RELEASED, on_ended),
    (evt.EVT_ABORTED, on_ended),
]
