"""Imaging pages in the site-isolation matrix (see tests/matrix.py): upload, the study page and its polled part,
release, and preview images. The world is the imaging API's analysed one (imaging/tests/matrix_cases.py)."""
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from imaging.tests import matrix_cases as api
from imaging.tests.matrix_cases import arrange  # noqa: F401  (the world these cases run in)
from tests.matrix import AUTHENTICATED, Case, World, page_case, statuses

SEE_A = {"coordinator_a", "investigator_a", "monitor_a", "data_manager"}
NOT_A = {"coordinator_b", "nobody"}
study_arg = lambda w: [w["study_a"].pk]  # noqa: E731


def _upload(w: World, actor: str) -> dict[str, Any]:
    return {"patient": str(w["patient_a"].pk), "files": [SimpleUploadedFile("x.dcm", api._PET["bytes"])]}


CASES: list[Case] = [
    # The form offers only the patients the user may upload for (none: an empty form).
    page_case("upload page", "web-upload", statuses(kind="page", ok=AUTHENTICATED)),
    # The result is shown on the page (200); a patient outside the user's upload scope is not among the choices (400).
    page_case("upload", "web-upload", statuses(kind="page write", ok=api.ADDERS_A, ok_status=200,
                                               invalid={"coordinator_b", "monitor_a", "nobody"}),
              method="post", data=_upload),
    page_case("study page", "web-study-detail", statuses(kind="page", ok=SEE_A, hidden=NOT_A), args=study_arg),
    page_case("study progress fragment", "web-study-progress", statuses(kind="page", ok=SEE_A, hidden=NOT_A), args=study_arg),
    # The study is not on hold: refused by the service with its message (400) for those who may release.
    page_case("study release (not on hold)", "web-study-release",
              statuses(kind="page write", invalid=api.ADDERS_A, forbidden={"monitor_a"}, hidden=NOT_A),
              method="post", args=study_arg, data=lambda w, actor: {"reason": "checked"}),
    page_case("preview image", "web-preview-image", statuses(kind="file", ok=SEE_A, hidden=NOT_A),
              args=lambda w: [w["preview_a"].pk]),
]

# The DICOM network's pages (issue 16), in the world with a sender, an unmatched instance and an exam per side.
from imaging.tests.network_matrix import WEB_NETWORK_CASES, arrange_network  # noqa: E402

CASES_IN_OTHER_WORLDS = [(arrange_network, WEB_NETWORK_CASES)]
