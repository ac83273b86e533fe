"""A protocol version's document: stored under a generated name, sent only by the audited download (API action and
page), linked from the API and the admin by that download's URL, never by a /media/ address."""
import hashlib
import importlib
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from conftest import Actors, api_client
from registry.files import is_generated
from registry.models import AuditEvent
from registry.tests.builders import client_of
from trials.models import ProtocolVersion, Trial
from trials.services import setup
from trials.tests.builders import PROTOCOL_FROM, make_trial

pytestmark = pytest.mark.django_db

PROTOCOL = b"%PDF-1.4 protocol version 2.0"


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


@pytest.fixture
def trial(actors: Actors) -> Trial:
    return make_trial(actors.data_manager, [actors.hospital_a], code="NB-P1")


@pytest.fixture
def version(actors: Actors, trial: Trial) -> ProtocolVersion:
    # Uploaded under a name that carries a child's name (a protocol amendment written around one case).
    return setup.protocol_version_create(
        actor=actors.data_manager, trial=trial, number="2.0", version_date=PROTOCOL_FROM, ethics_approval_number="EC-2",
        ethics_approval_date=PROTOCOL_FROM, effective_from=PROTOCOL_FROM,
        document=SimpleUploadedFile("Amendment for Li Xiaohong.PDF", PROTOCOL, "application/pdf"))


def body(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(response.streaming_content)


def page_url(version: ProtocolVersion) -> str:
    return reverse("web-protocol-document", args=[version.pk])


def test_the_document_is_stored_under_a_generated_name_and_audited_so(actors: Actors, version: ProtocolVersion, media: Path) -> None:
    name = version.document.name
    assert is_generated(name) and name.startswith("trials/protocols/") and name.endswith(".pdf")
    assert [p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file()] == [name]
    created = AuditEvent.objects.get(action="create", object_type="trials.protocolversion", object_id=str(version.pk))
    assert created.after["document"] == name


@pytest.mark.parametrize("reader", ["coordinator_a", "investigator_a", "monitor_a", "data_manager", "sponsor"])
def test_whoever_sees_the_version_downloads_its_document_and_it_is_audited(actors: Actors, trial: Trial, version: ProtocolVersion,
                                                                           reader: str) -> None:
    user = actors.by_name(reader)
    if reader == "sponsor":
        setup.trial_membership_grant(actor=actors.data_manager, user=user, trial=trial, role="sponsor")
    for response in (client_of(user).get(page_url(version)),
                     api_client(user).get(reverse("protocol-version-document", args=[version.pk]))):
        assert response.status_code == 200
        assert body(response) == PROTOCOL and response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == 'attachment; filename="protocol-NB-P1-v2.0.pdf"'
    events = list(AuditEvent.objects.filter(action="protocol_document_download").order_by("seq"))
    assert len(events) == 2
    for event in events:
        assert (event.actor, event.object_type, event.object_id, event.trial_id) == (user, "trials.protocolversion", str(version.pk), trial.pk)
        assert event.after == {"file": "document", "size": len(PROTOCOL), "sha256": hashlib.sha256(PROTOCOL).hexdigest()}


@pytest.mark.parametrize("outsider", ["coordinator_b", "nobody", "sponsor"])
def test_anyone_else_gets_404_and_nothing_is_audited(actors: Actors, version: ProtocolVersion, outsider: str) -> None:
    user = actors.by_name(outsider)  # the sponsor holds no role in this trial
    assert client_of(user).get(page_url(version)).status_code == 404
    assert api_client(user).get(reverse("protocol-version-document", args=[version.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action="protocol_document_download").exists()


def test_anonymous_is_sent_to_the_login_page(version: ProtocolVersion) -> None:
    response = Client().get(page_url(version))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert api_client(None).get(reverse("protocol-version-document", args=[version.pk])).status_code == 401


def test_the_api_field_is_the_download_url_or_null(actors: Actors, trial: Trial, version: ProtocolVersion) -> None:
    client = api_client(actors.coordinator_a)
    detail = client.get(reverse("protocol-version-detail", args=[version.pk]))
    url = detail.json()["document"]
    assert url == f"http://testserver{reverse('protocol-version-document', args=[version.pk])}"
    assert body(client.get(url)) == PROTOCOL
    listed = {row["number"]: row["document"] for row in client.get(reverse("protocol-version-list"), {"trial": trial.pk}).json()["results"]}
    assert listed == {"1.0": None, "2.0": url}  # version 1.0 was filed without a document
    assert "/media/" not in detail.content.decode() and "Xiaohong" not in detail.content.decode()
    bare = trial.protocol_versions.get(number="1.0")
    assert client.get(reverse("protocol-version-document", args=[bare.pk])).status_code == 404
    assert client_of(actors.coordinator_a).get(page_url(bare)).status_code == 404


def test_the_admin_links_the_download_view_not_media(client: Client, actors: Actors, version: ProtocolVersion) -> None:
    actors.data_manager.is_staff = True
    actors.data_manager.save(update_fields=["is_staff"])
    client.force_login(actors.data_manager)
    page = client.get(reverse("admin:trials_protocolversion_change", args=[version.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'href="{page_url(version)}"' in html
    assert "/media/" not in html and "Xiaohong" not in html and version.document.name not in html
    # Following the link downloads the document, audited as any other download.
    assert body(client.get(page_url(version))) == PROTOCOL
    assert AuditEvent.objects.filter(action="protocol_document_download", actor=actors.data_manager).count() == 1
    # The add form still takes the upload.
    add = client.get(reverse("admin:trials_protocolversion_add")).content.decode()
    assert re.search(r'<input type="file" name="document"', add)


def test_the_trial_page_links_each_versions_document(actors: Actors, trial: Trial, version: ProtocolVersion) -> None:
    html = client_of(actors.coordinator_a).get(reverse("web-trial-detail", args=[trial.pk])).content.decode()
    assert f'href="{page_url(version)}"' in html
    bare = trial.protocol_versions.get(number="1.0")
    assert page_url(bare) not in html and "Version 1.0" in html


def test_the_data_migration_renames_a_document_stored_under_its_uploaded_name(trial: Trial, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    bare = trial.protocol_versions.get(number="1.0")
    old = default_storage.save("trials/protocols/Amendment for Li Xiaohong.pdf", ContentFile(PROTOCOL))
    ProtocolVersion.objects.filter(pk=bare.pk).update(document=old)
    with django_capture_on_commit_callbacks(execute=True):
        importlib.import_module("trials.migrations.0004_generated_protocol_document_names").rename_uploaded_names(apps, None)
    bare.refresh_from_db()
    assert is_generated(bare.document.name) and bare.document.name.endswith(".pdf") and bare.document.read() == PROTOCOL
    assert not default_storage.exists(old)
