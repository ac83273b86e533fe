"""Page URLs of imaging (mounted under imaging/): upload, study page, previews. The reading pages are the reading
sub-app's (imaging/reading/web/urls.py, mounted at the same prefix)."""
from django.urls import URLPattern, path

from imaging.web import network, views

urlpatterns: list[URLPattern] = [
    path("upload/", views.upload_page, name="web-upload"),
    path("upload/patients/", views.upload_patients, name="web-upload-patients"),
    path("upload/visits/", views.upload_visits, name="web-upload-visits"),
    path("upload/summary/", views.upload_summary_page, name="web-upload-summary"),
    path("studies/<int:pk>/", views.study_detail, name="web-study-detail"),
    path("studies/<int:pk>/progress/", views.study_progress, name="web-study-progress"),
    path("studies/<int:pk>/release/", views.study_release_page, name="web-study-release"),
    path("studies/<int:pk>/acquisition/", views.study_acquisition_page, name="web-study-acquisition"),
    path("previews/<int:pk>/image/", views.preview_image, name="web-preview-image"),
    path("dicom/senders/", network.senders_page, name="web-dicom-senders"),
    path("dicom/senders/<int:pk>/active/", network.sender_active_page, name="web-dicom-sender-active"),
    path("dicom/unmatched/", network.unmatched_page, name="web-dicom-unmatched"),
    path("dicom/unmatched/assign/", network.unmatched_assign_page, name="web-dicom-unmatched-assign"),
    path("dicom/unmatched/discard/", network.unmatched_discard_page, name="web-dicom-unmatched-discard"),
    path("exams/", network.scheduled_exams_page, name="web-scheduled-exams"),
]
