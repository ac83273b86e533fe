"""Trial pages (issue 8, item 5). Every URL name starts with "web-". The adverse-event and data-query pages are the
safety and oversight sub-apps' (their web/urls.py, mounted at the same prefix by config/urls.py)."""
from django.urls import URLPattern, path

from trials.web import downloads, subject_views, trial_views, visit_views

urlpatterns: list[URLPattern] = [
    path("", trial_views.trial_list_page, name="web-trial-list"),
    path("<int:pk>/", trial_views.trial_detail_page, name="web-trial-detail"),
    path("<int:pk>/screen/", trial_views.screening_page, name="web-screening-create"),
    path("<int:pk>/screening-log/", trial_views.screening_log_page, name="web-screening-log"),
    path("<int:pk>/enrol/", trial_views.enrol_page, name="web-enrol"),
    path("protocols/<int:pk>/document", downloads.protocol_document, name="web-protocol-document"),
    path("subjects/<int:pk>/", subject_views.subject_detail_page, name="web-subject-detail"),
    path("subjects/<int:pk>/unblind/", subject_views.subject_unblind_page, name="web-subject-unblind"),
    path("subjects/<int:pk>/dose/", subject_views.dosing_create, name="web-dosing-create"),
    path("subjects/<int:pk>/dose/preview/", subject_views.dosing_preview, name="web-dosing-preview"),
    path("visits/<int:pk>/record/", visit_views.visit_record, name="web-visit-record"),
    path("doses/<int:pk>/correct/", subject_views.dosing_correct, name="web-dose-correct"),
    path("deviations/<int:pk>/", visit_views.deviation_page, name="web-deviation-detail"),
    path("deviations/<int:pk>/review/", visit_views.deviation_review, name="web-deviation-review"),
]
