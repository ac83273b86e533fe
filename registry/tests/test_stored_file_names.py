"""Uploaded clinical files are stored under generated names (registry/files.py), never the name the client sent.

A consent scan uploaded as "Li Xiaohong signed.pdf" must leave the child's name nowhere: not in storage paths, not in
the audit trail's JSON (which the audit API shows monitors), not in API responses or download headers. Files stored
before the change are renamed by the data migration; the audit trail keeps what it recorded.
"""
import hashlib
import importlib
import json
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from conftest import Actors, api_client
from registry.access import HospitalRole
from registry.audit import REDACTED, snapshot
from registry.errors import ApplicationError
from registry.files import DOCUMENT_SUFFIXES, SCAN_SUFFIXES, GeneratedName, generated_name, is_generated, safe_suffix
from registry.models import AuditEvent, ConsentDocument, ConsentRecord, Patient
from registry.services.consent import consent_signature_page_download
from registry.tests.builders import client_of, make_document, make_patient, make_registry_consent, text
from registry.tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

CHILD = "Xiaohong"
SCAN = b"%PDF-1.4 the guardian's signed page"
FORM = b"%PDF-1.4 the approved consent form"


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """A storage of this test's own, so every path in it can be listed."""
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


@pytest.fixture
def document(actors: Actors) -> ConsentDocument:
    return make_document(actor=actors.data_manager, pdf=SimpleUploadedFile(f"Li {CHILD} form.pdf", FORM, "application/pdf"))


@pytest.fixture
def patient(actors: Actors, document: ConsentDocument) -> Patient:
    return make_patient(actors.coordinator_a, actors.hospital_a)


def stored_paths(root: Path) -> list[str]:
    return [path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()]


@pytest.mark.parametrize(("uploaded", "suffix"), [
    ("Li Xiaohong signed.pdf", ".pdf"), ("SCAN.PDF", ".pdf"), ("page.Tiff", ".tiff"), ("archive.tar.png", ".png"),
    ("run.exe", ""), ("no suffix", ""), ("dir\\Li Xiaohong.jpg", ".jpg"), ("x.pdf.exe", ""), (".pdf", ""),
])
def test_only_an_allowed_lower_cased_suffix_is_kept_of_the_uploaded_name(uploaded: str, suffix: str) -> None:
    assert safe_suffix(uploaded, SCAN_SUFFIXES) == suffix
    name = GeneratedName("consent/signatures", SCAN_SUFFIXES)(None, uploaded)  # type: ignore[arg-type]
    assert name.startswith("consent/signatures/") and name.endswith(suffix) and is_generated(name)
    assert len(name) == len("consent/signatures/") + 32 + len(suffix)


def test_generated_names_differ_and_are_told_apart_from_uploaded_ones() -> None:
    assert generated_name("trials/protocols", "p.pdf", DOCUMENT_SUFFIXES) != generated_name("trials/protocols", "p.pdf", DOCUMENT_SUFFIXES)
    assert not is_generated("consent/signatures/Li Xiaohong signed.pdf")
    assert not is_generated("consent/signatures/scan.pdf")
    assert not is_generated(f"{'a' * 32}.pdf")  # no folder: not one GeneratedName wrote
    # Deconstructible and comparable, so makemigrations sees no change from one run to the next.
    assert GeneratedName("a", (".pdf",)) == GeneratedName("a", (".pdf",)) != GeneratedName("a", (".png",))
    assert GeneratedName("a", (".pdf",)).deconstruct() == ("registry.files.GeneratedName", ("a", (".pdf",)), {})


def test_a_childs_name_in_an_upload_reaches_no_storage_path_audit_event_or_api_response(actors: Actors, patient: Patient,
                                                                                     document: ConsentDocument, media: Path) -> None:
    client = api_client(actors.coordinator_a)
    created = client.post(reverse("consent-list"), {
        "patient": patient.study_id, "document": document.pk, "assent": "not_applicable", "signed_date": "2021-01-04",
        "guardian1_relationship": "mother", "signature_page": SimpleUploadedFile(f"Li {CHILD} signed.PDF", SCAN, "application/pdf"),
    }, format="multipart")
    assert created.status_code == 201, created.json()
    record = ConsentRecord.objects.get(pk=created.json()["id"])
    published = api_client(actors.data_manager).post(reverse("consent-document-list"), {
        "scope": "registry", "version": "3.0", "title": "v3", "ethics_approval_number": "EC-3", "ethics_approval_date": "2025-01-01",
        "effective_from": "2025-01-02", "pdf": SimpleUploadedFile(f"{CHILD} consent v3.pdf", FORM, "application/pdf"),
    }, format="multipart")
    assert published.status_code == 201, published.json()

    # Storage: three files (two forms, one scan), each under a generated name that kept only the suffix.
    paths = stored_paths(media)
    assert len(paths) == 3 and all(is_generated(p) and p.endswith(".pdf") for p in paths), paths
    assert record.signature_page.name.startswith("consent/signatures/") and record.signature_page.name in paths
    assert CHILD not in " ".join(paths)

    # Downloads: the bytes come back, named after the record; the audit event names the file by size and hash.
    download = client.get(created.json()["signature_page"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == SCAN
    assert CHILD not in download["Content-Disposition"]
    event = AuditEvent.objects.filter(action="consent_page_download").get()
    assert event.after == {"file": "signature_page", "size": len(SCAN), "sha256": hashlib.sha256(SCAN).hexdigest()}

    # The audit trail: the creation snapshots hold the generated names, and no event holds the uploaded one.
    creation = AuditEvent.objects.get(action="create", object_type="registry.consentrecord", object_id=str(record.pk))
    assert creation.after["signature_page"] == record.signature_page.name
    trail = json.dumps([[e.before, e.after, e.reason, e.object_id] for e in AuditEvent.objects.all()], ensure_ascii=False)
    assert CHILD not in trail

    # API responses, as staff of the hospital, as the data manager and through the audit API the monitors read.
    responses = [
        client.get(reverse("consent-detail", args=[record.pk])), client.get(reverse("consent-list")),
        client.get(reverse("consent-document-list")), api_client(actors.data_manager).get(reverse("audit-event-list")),
        api_client(actors.monitor_a).get(reverse("audit-event-list")),
    ]
    for response in responses:
        assert response.status_code == 200
        assert CHILD not in response.content.decode() and "/media/" not in response.content.decode()
    assert len(api_client(actors.data_manager).get(reverse("audit-event-list")).json()["results"]) > 0


def test_a_file_field_holding_an_uploaded_name_is_redacted_in_the_audit_snapshot(actors: Actors, document: ConsentDocument) -> None:
    assert snapshot(document)["pdf"] == document.pdf.name and is_generated(document.pdf.name)
    document.pdf.name = f"consent/documents/Li {CHILD}.pdf"  # as a row stored before names were generated
    assert snapshot(document)["pdf"] == REDACTED
    document.pdf.name = ""
    assert snapshot(document)["pdf"] is None


def _stored_under_uploaded_name(record: ConsentRecord, content: bytes) -> str:
    """A file as it was stored before names were generated: under the uploaded name."""
    old = default_storage.save(f"consent/signatures/Li {CHILD} signed.pdf", ContentFile(content))
    ConsentRecord.objects.filter(pk=record.pk).update(signature_page=old)
    return old


def test_the_data_migration_renames_stored_files_and_leaves_the_audit_trail_alone(actors: Actors, patient: Patient, media: Path,
                                                                                  django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    record = make_registry_consent(actors.coordinator_a, patient)
    old = _stored_under_uploaded_name(record, SCAN)
    generated = ConsentDocument.objects.get().pdf.name
    trail = list(AuditEvent.objects.order_by("seq").values_list("seq", "hash"))
    migration = importlib.import_module("registry.migrations.0010_generated_file_names")
    with django_capture_on_commit_callbacks(execute=True):
        migration.rename_uploaded_names(apps, None)
    record.refresh_from_db()
    assert is_generated(record.signature_page.name) and record.signature_page.name.endswith(".pdf")
    assert record.signature_page.read() == SCAN
    assert not default_storage.exists(old)  # deleted once the migration committed
    assert ConsentDocument.objects.get().pdf.name == generated  # already generated: left as it is
    assert CHILD not in " ".join(stored_paths(media))
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", "hash")) == trail
    # A second run finds nothing to do.
    with django_capture_on_commit_callbacks(execute=True):
        migration.rename_uploaded_names(apps, None)
    assert ConsentRecord.objects.get(pk=record.pk).signature_page.name == record.signature_page.name


def test_a_failed_migration_keeps_the_old_file(actors: Actors, patient: Patient) -> None:
    """The old file goes only when the renaming commits: rolled back, every row still points at a file that exists."""
    record = make_registry_consent(actors.coordinator_a, patient)
    old = _stored_under_uploaded_name(record, SCAN)
    migration = importlib.import_module("registry.migrations.0010_generated_file_names")
    migration.rename_uploaded_names(apps, None)  # the test's transaction never commits: no on-commit deletion runs
    assert default_storage.exists(old)


def test_a_row_whose_file_is_gone_gets_a_generated_name_and_its_download_is_refused(actors: Actors, patient: Patient,
                                                                                   django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    record = make_registry_consent(actors.coordinator_a, patient)
    ConsentRecord.objects.filter(pk=record.pk).update(signature_page=f"consent/signatures/Li {CHILD} lost.pdf")
    with django_capture_on_commit_callbacks(execute=True):
        importlib.import_module("registry.migrations.0010_generated_file_names").rename_uploaded_names(apps, None)
    record.refresh_from_db()
    assert is_generated(record.signature_page.name)
    with pytest.raises(ApplicationError) as refused:
        consent_signature_page_download(actor=actors.coordinator_a, record=record)
    assert refused.value.code == "no_file"
    page = reverse("web-patient-consent-signature-page", args=[patient.study_id, record.pk])
    assert client_of(actors.coordinator_a).get(page).status_code == 404
    assert not AuditEvent.objects.filter(action="consent_page_download").exists()


@pytest.fixture
def staff_client(actors: Actors) -> Client:
    actors.data_manager.is_staff = True
    actors.data_manager.save(update_fields=["is_staff"])
    return client_of(actors.data_manager)


def test_the_admin_links_the_consent_downloads_not_media(actors: Actors, patient: Patient, document: ConsentDocument,
                                                         staff_client: Client) -> None:
    record = make_registry_consent(actors.coordinator_a, patient, document=document,
                                   signature_page=SimpleUploadedFile(f"Li {CHILD} signed.pdf", SCAN, "application/pdf"))
    pdf_page = text(staff_client.get(reverse("admin:registry_consentdocument_change", args=[document.pk])))
    assert f'href="{reverse("web-consent-document-pdf", args=[document.pk])}"' in pdf_page
    # The central data manager sees the consent but not the guardians' signatures: no link that would answer 404.
    consent_page = text(staff_client.get(reverse("admin:registry_consentrecord_change", args=[record.pk])))
    scan_url = reverse("web-patient-consent-signature-page", args=[patient.study_id, record.pk])
    assert scan_url not in consent_page and "readable by staff of the patient&#x27;s own hospital" in consent_page
    # A data manager of the patient's own hospital gets the link, and it works.
    local = UserFactory(username="dm_a", is_staff=True)
    MembershipFactory(user=local, hospital=actors.hospital_a, role=HospitalRole.DATA_MANAGER)
    local_client = client_of(local)
    local_page = text(local_client.get(reverse("admin:registry_consentrecord_change", args=[record.pk])))
    assert f'href="{scan_url}"' in local_page
    assert b"".join(local_client.get(scan_url).streaming_content) == SCAN
    for html in (pdf_page, consent_page, local_page):
        assert "/media/" not in html and CHILD not in html
    # Adding a document still takes the upload.
    assert 'type="file" name="pdf"' in text(staff_client.get(reverse("admin:registry_consentdocument_add")))
