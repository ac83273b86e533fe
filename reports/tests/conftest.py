import pytest

STUB_PDF = b"%PDF-1.7\n% stub: the real renderer runs in the tests that ask for the real_pdf fixture\n%%EOF\n"


@pytest.fixture
def real_pdf() -> None:
    """Ask for this to render PDFs with WeasyPrint (seconds per document on these machines)."""


@pytest.fixture(autouse=True)
def fast_pdf(request, monkeypatch):  # type: ignore[no-untyped-def]
    if "real_pdf" not in request.fixturenames:
        monkeypatch.setattr("reports.renderers.to_pdf", lambda report: STUB_PDF)
