"""Downloads of a consent's scanned signature page and of a consent document's PDF, on the pages and in the API.

Stored files are never served from MEDIA_URL: each leaves through a view that finds the record in the user's scope
and a service that checks the rule and records the download (with the file's SHA-256) in the audit trail. The
signature page (the guardians' names and signatures) is for roles named at the patient's own hospital; the form's
PDF for everyone who sees the document. Everyone else gets 404, as for a record out of scope, and nothing is audited.
"""
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from conftest import Actors, api_client
from registry.models import AuditEvent, ConsentDocument, ConsentRecord, Patient
from registry.tests.builders import client_of, make_document, make_patient, make_registry_consent, text

pytestmark = pytest.mark.django_db

SCAN = b"%PDF-1.4 the guardian's signed page"
FORM = b"%PDF-1.4 the approved consent form"


@pytest.fixture
def document(actors: Actors) -> ConsentDocument:
    return make_document(actor=actors.data_manager, pdf=SimpleUploadedFile("approved form.pdf", FORM, "application/pdf"))


@pytest.fixture
def patient(actors: Actors, document: ConsentDocument) -> Patient:
    return make_patient(actors.coordinator_a, actors.hospital_a)


@pytest.fixture
def consent(actors: Actors, patient: Patient, document: ConsentDocument) -> ConsentRecord:
    # Uploaded under a name that carries the child's name: it must not travel back in the download's file name.
    return make_registry_consent(actors.coordinator_a, patient, document=document,
                                 signature_page=SimpleUploadedFile("Li Xiaohong signed.pdf", SCAN, "application/pdf"))


def page_url(consent: ConsentRecord) -> str:
    return reverse("web-patient-consent-signature-page", args=[consent.patient.study_id, consent.pk])


def downloads(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def body(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("reader", ["coordinator_a", "investigator_a", "monitor_a"])
def test_staff_of_the_patients_hospital_download_the_signature_page_and_it_is_audited(actors: Actors, consent: ConsentRecord,
                                                                                       reader: str) -> None:
    user = actors.by_name(reader)
    response = client_of(user).get(page_url(consent))
    assert response.status_code == 200
    assert body(response) == SCAN
    assert response["Content-Type"] == "application/pdf"
    study_id = consent.patient.study_id
    assert response["Content-Disposition"] == f'attachment; filename="consent-{study_id}-v1.0-signature-page.pdf"'
    [event] = downloads("consent_page_download")
    assert (event.actor, event.object_type, event.object_id) == (user, "registry.consentrecord", str(consent.pk))
    assert event.hospital_id == actors.hospital_a.pk
    assert event.after == {"file": "signature_page", "size": len(SCAN), "sha256": hashlib.sha256(SCAN).hexdigest()}
    assert "Xiaohong" not in response["Content-Disposition"]  # the uploaded name never travels with the file


@pytest.mark.parametrize("outsider", ["data_manager", "coordinator_b", "nobody", "sponsor"])
def test_anyone_else_gets_404_for_the_signature_page_and_nothing_is_audited(actors: Actors, consent: ConsentRecord,
                                                                            outsider: str) -> None:
    """The data manager of every hospital sees the consent itself, but not the guardians' names and signatures."""
    seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    assert client_of(actors.by_name(outsider)).get(page_url(consent)).status_code == 404
    assert api_client(actors.by_name(outsider)).get(reverse("consent-signature-page", args=[consent.pk])).status_code == 404
    assert not AuditEvent.objects.filter(seq__gt=seq).exists()


def test_a_consent_without_a_scan_has_no_signature_page(actors: Actors, patient: Patient, document: ConsentDocument) -> None:
    consent = make_registry_consent(actors.coordinator_a, patient, document=document)
    assert client_of(actors.coordinator_a).get(page_url(consent)).status_code == 404
    assert api_client(actors.coordinator_a).get(reverse("consent-detail", args=[consent.pk])).json()["signature_page"] is None
    assert downloads("consent_page_download") == []


def test_the_signature_page_answers_only_under_its_own_patient(actors: Actors, consent: ConsentRecord) -> None:
    other = make_patient(actors.coordinator_a, actors.hospital_a)
    url = reverse("web-patient-consent-signature-page", args=[other.study_id, consent.pk])
    assert client_of(actors.coordinator_a).get(url).status_code == 404


def test_anonymous_is_sent_to_the_login_page(consent: ConsentRecord, document: ConsentDocument) -> None:
    for url in (page_url(consent), reverse("web-consent-document-pdf", args=[document.pk])):
        response = Client().get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert api_client(None).get(reverse("consent-document-pdf", args=[document.pk])).status_code == 401


@pytest.mark.parametrize("reader", ["coordinator_a", "coordinator_b", "monitor_a", "data_manager"])
def test_everyone_who_sees_the_document_downloads_its_pdf_and_it_is_audited(actors: Actors, document: ConsentDocument,
                                                                            reader: str) -> None:
    user = actors.by_name(reader)
    response = client_of(user).get(reverse("web-consent-document-pdf", args=[document.pk]))
    assert response.status_code == 200 and body(response) == FORM
    assert response["Content-Disposition"] == 'attachment; filename="consent-registry-v1.0-zh-hans.pdf"'
    [event] = downloads("consent_document_download")
    assert (event.actor, event.object_type, event.object_id) == (user, "registry.consentdocument", str(document.pk))
    assert event.after["sha256"] == hashlib.sha256(FORM).hexdigest()


def test_the_pdf_is_404_for_a_user_without_a_role_and_for_a_document_without_one(actors: Actors, document: ConsentDocument) -> None:
    assert client_of(actors.nobody).get(reverse("web-consent-document-pdf", args=[document.pk])).status_code == 404
    bare = make_document(actor=actors.data_manager, version="2.0")
    assert client_of(actors.coordinator_a).get(reverse("web-consent-document-pdf", args=[bare.pk])).status_code == 404
    assert api_client(actors.coordinator_a).get(reverse("consent-document-pdf", args=[bare.pk])).status_code == 404
    assert downloads("consent_document_download") == []


def test_the_api_fields_are_the_urls_of_the_download_actions(actors: Actors, consent: ConsentRecord, document: ConsentDocument) -> None:
    """No /media/ address: the fields lead to the actions, which send the files (checked and audited)."""
    client = api_client(actors.coordinator_a)
    scan_url = client.get(reverse("consent-detail", args=[consent.pk])).json()["signature_page"]
    assert scan_url == f"http://testserver{reverse('consent-signature-page', args=[consent.pk])}"
    response = client.get(scan_url)
    assert response.status_code == 200 and body(response) == SCAN
    pdf_url = client.get(reverse("consent-document-detail", args=[document.pk])).json()["pdf"]
    assert pdf_url == f"http://testserver{reverse('consent-document-pdf', args=[document.pk])}"
    assert body(client.get(pdf_url)) == FORM
    assert len(downloads("consent_page_download")) == 1 and len(downloads("consent_document_download")) == 1
    # The data manager of every hospital lists the consent but is not given the page's address.
    listed = api_client(actors.data_manager).get(reverse("consent-list")).json()["results"]
    assert [row["signature_page"] for row in listed if row["id"] == consent.pk] == [None]


def test_a_consent_recorded_or_a_document_published_through_the_api_reads_back_with_its_download_url(actors: Actors, patient: Patient,
                                                                                                        document: ConsentDocument) -> None:
    client = api_client(actors.coordinator_a)
    response = client.post(reverse("consent-list"), {
        "patient": patient.study_id, "document": document.pk, "assent": "not_applicable", "signed_date": "2021-01-04",
        "guardian1_relationship": "mother", "signature_page": SimpleUploadedFile("scan.png", b"\x89PNG scan", "image/png"),
    }, format="multipart")
    assert response.status_code == 201, response.json()
    record = ConsentRecord.objects.get(pk=response.json()["id"])
    assert response.json()["signature_page"] == f"http://testserver{reverse('consent-signature-page', args=[record.pk])}"
    download = client.get(response.json()["signature_page"])
    assert download["Content-Type"] == "image/png" and body(download) == b"\x89PNG scan"
    published = api_client(actors.data_manager).post(reverse("consent-document-list"), {
        "scope": "registry", "version": "3.0", "title": "v3", "ethics_approval_number": "EC-3", "ethics_approval_date": "2025-01-01",
        "effective_from": "2025-01-02", "pdf": SimpleUploadedFile("v3.pdf", b"%PDF v3", "application/pdf"),
    }, format="multipart")
    assert published.status_code == 201, published.json()
    assert published.json()["pdf"] == f"http://testserver{reverse('consent-document-pdf', args=[published.json()['id']])}"


def test_the_patient_page_links_the_downloads_each_reader_may_use(actors: Actors, consent: ConsentRecord, document: ConsentDocument) -> None:
    patient_page = reverse("web-patient-detail", args=[consent.patient.study_id])
    pdf_url = reverse("web-consent-document-pdf", args=[document.pk])
    own = text(client_of(actors.monitor_a).get(patient_page))
    assert f'href="{page_url(consent)}"' in own and f'href="{pdf_url}"' in own
    central = text(client_of(actors.data_manager).get(patient_page))
    assert page_url(consent) not in central and f'href="{pdf_url}"' in central
