"""Migration 0013 moves the deferred-upload spool into the database: a receipt waiting when it runs keeps its file."""
from collections.abc import Iterator

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from imaging.tests.helpers import child

BEFORE, AFTER = [("imaging", "0012_intake_receipt")], [("imaging", "0013_intake_spool")]


@pytest.fixture
def at_0012(transactional_db) -> Iterator[MigrationExecutor]:  # type: ignore[no-untyped-def]
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        yield executor
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_waiting_receipts_keep_their_files_and_the_old_spool_is_emptied(at_0012: MigrationExecutor, actors, reference_rows) -> None:  # type: ignore[no-untyped-def]
    apps = at_0012.loader.project_state(BEFORE).apps
    receipt_model = apps.get_model("imaging", "IntakeReceipt")
    patient = child(actors.coordinator_a, actors.hospital_a)  # the registry's tables are as they are now
    keys = [default_storage.save(f"spool/00/migration-{n}.bin", ContentFile(f"sealed {n}".encode())) for n in range(4)]
    common = {"patient_id": patient.pk, "received_by_id": actors.coordinator_a.pk, "source": "api", "file": "x.dcm", "size": 8}
    waiting = receipt_model.objects.create(spool_key=keys[0], state="received", **common)
    claimed = receipt_model.objects.create(spool_key=keys[1], state="filing", **common)
    filed = receipt_model.objects.create(spool_key=keys[2], state="filed", **common)
    lost = receipt_model.objects.create(spool_key="spool/00/gone.bin", state="received", **common)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    spool = executor.loader.project_state(AFTER).apps.get_model("imaging", "IntakeSpool")
    copied = {row.receipt_id: bytes(row.data) for row in spool.objects.all()}
    assert copied == {waiting.pk: b"sealed 0", claimed.pk: b"sealed 1"}  # the filed one had nothing to keep; the lost one has no row
    assert {filed.pk, lost.pk}.isdisjoint(copied)
    # The old spool folder is emptied: the copied blobs, a settled receipt's, and one no receipt names (keys[3]).
    assert not any(default_storage.exists(key) for key in keys)
