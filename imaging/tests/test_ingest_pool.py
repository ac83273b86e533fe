"""Large uploads are prepared in worker processes: same outcomes as in-process, nothing lost."""
from pathlib import Path

import pydicom

from conftest import Actors
from imaging.models import Instance
from imaging.services.ingest import IncomingFile, ingest
from imaging.services.prepare import POOL_THRESHOLD
from imaging.tests.helpers import child, pet_files, sample


def test_pool_gives_the_same_result_as_in_process(actors: Actors, tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    patient = child(actors.coordinator_a, actors.hospital_a)
    files = pet_files(tmp_path, patient, n=POOL_THRESHOLD + 4)
    mr = tmp_path / "mr.dcm"
    mr.write_bytes(sample("tcia-prostate-mri.dcm").read_bytes())
    incoming = [IncomingFile(p.name, p) for p in [*files, mr]]
    settings.INGEST_WORKERS = 2
    pooled = ingest(actor=actors.coordinator_a, patient=patient, source="api", files=incoming)
    assert pooled.accepted == len(files) and pooled.rejected == 1
    assert [i["file"] for i in pooled.items] == [f.name for f in incoming]  # order kept
    stored = set(Instance.objects.values_list("sop_instance_uid", flat=True))
    settings.INGEST_WORKERS = 0
    again = ingest(actor=actors.coordinator_a, patient=patient, source="api", files=incoming)
    assert again.duplicates == len(files)  # same de-identified UIDs and bytes from the in-process path
    assert set(Instance.objects.values_list("sop_instance_uid", flat=True)) == stored
    assert pydicom.dcmread(files[0]).SOPInstanceUID not in stored
