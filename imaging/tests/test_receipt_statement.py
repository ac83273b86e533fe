"""On PostgreSQL a deferred request of one file is received by one statement, the receipt and its file together, which
commits by itself (imaging.services.receipts._insert_with_spool); a request of several files by one transaction."""
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from conftest import Actors
from imaging.models import IntakeReceipt, IntakeSpool
from imaging.services import receipts as receipts_module
from imaging.tests.helpers import as_upload, child, pet_files
from registry import identity_crypto

URL = "/api/v1/imaging/uploads/"
ASYNC = {"HTTP_PREFER": "respond-async"}


def _committed(receipt_ids: list[int]) -> dict[int, tuple[str, bytes]]:
    """What another connection sees of these receipts and their files: only what has committed."""
    conf = connection.settings_dict
    with psycopg.connect(host=conf["HOST"], port=conf["PORT"] or 5432, user=conf["USER"], dbname=conf["NAME"]) as other:
        rows = other.execute(f'SELECT r.id, r.file, s.data FROM "{IntakeReceipt._meta.db_table}" r'
                             f' JOIN "{IntakeSpool._meta.db_table}" s ON s.receipt_id = r.id WHERE r.id = ANY(%s)',
                             [receipt_ids]).fetchall()
    return {pk: (name, identity_crypto.decrypt_bytes(bytes(data))) for pk, name, data in rows}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_file_is_received_by_one_statement_that_commits_by_itself(on_postgres, actors: Actors, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                        monkeypatch) -> None:
    patient = child(actors.coordinator_a, actors.hospital_a)
    monkeypatch.setattr(receipts_module, "_wake", lambda: None)  # the receiving is watched here, not the filing
    first, second, third, fourth = pet_files(tmp_path, patient, n=4)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=actors.coordinator_a).key}")
    raw = {"content_type": "application/dicom", **ASYNC}
    assert client.generic("POST", f"{URL}?patient={patient.study_id}", first.read_bytes(), **raw).status_code == 202

    with CaptureQueriesContext(connection) as seen:
        answer = client.generic("POST", f"{URL}?patient={patient.study_id}", second.read_bytes(),
                                HTTP_CONTENT_DISPOSITION='attachment; filename="two.dcm"', **raw)
    assert answer.status_code == 202, answer.content
    (statement,) = [q["sql"] for q in seen.captured_queries]
    assert statement.startswith("WITH receipt AS (INSERT INTO")
    (receipt,) = answer.json()["receipts"]
    assert _committed([receipt["id"]]) == {receipt["id"]: ("two.dcm", second.read_bytes())}

    # Several files: one transaction holds them all.
    many = client.post(URL, {"patient": patient.study_id, "files": [as_upload(third), as_upload(fourth)]}, format="multipart",
                       **ASYNC)
    assert many.status_code == 202
    ids = [r["id"] for r in many.json()["receipts"]]
    assert _committed(ids) == {ids[0]: (third.name, third.read_bytes()), ids[1]: (fourth.name, fourth.read_bytes())}
