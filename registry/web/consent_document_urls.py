"""Consent document pages, under /consent-documents/ (config/urls.py): the approved form's PDF."""
from django.urls import URLPattern, path

from registry.web import downloads

urlpatterns: list[URLPattern] = [
    path("<int:pk>/pdf", downloads.consent_document_pdf, name="web-consent-document-pdf"),
]
