"""Trial pages (issue 8, item 5). Every URL name starts with "web-"."""
from django.urls import URLPattern, path

from trials.web import query_views, safety_views, subject_views, trial_views, visit_views

urlpatterns: list[URLPattern] = [
    path("", trial_views.trial_list_page, name="web-trial-list"),
    path("<int:pk>/", trial_views.trial_detail_page, name="web-trial-detail"),
    path("<int:pk>/screen/", trial_views.screening_page, name="web-screening-create"),
    path("<int:pk>/screening-log/", trial_views.screening_log_page, name="web-screening-log"),
    path("<int:pk>/enrol/", trial_views.enrol_page, name="web-enrol"),
    path("subjects/<int:pk>/", subject_views.subject_detail_page, name="web-subject-detail"),
    path("subjects/<int:pk>/unblind/", subject_views.subject_unblind_page, name="web-subject-unblind"),
    path("subjects/<int:pk>/dose/", subject_views.dosing_create, name="web-dosing-create"),
    path("subjects/<int:pk>/dose/preview/", subject_views.dosing_preview, name="web-dosing-preview"),
    path("visits/<int:pk>/record/", visit_views.visit_record, name="web-visit-record"),
    path("visits/<int:pk>/query/", query_views.query_raise_on_visit, name="web-visit-query-raise"),
    path("doses/<int:pk>/correct/", subject_views.dosing_correct, name="web-dose-correct"),
    path("doses/<int:pk>/query/", query_views.query_raise_on_dose, name="web-dose-query-raise"),
    path("deviations/<int:pk>/", visit_views.deviation_page, name="web-deviation-detail"),
    path("deviations/<int:pk>/review/", visit_views.deviation_review, name="web-deviation-review"),
    path("subjects/<int:pk>/adverse-events/new/", safety_views.adverse_event_create, name="web-ae-create"),
    path("adverse-events/<int:pk>/", safety_views.adverse_event_detail, name="web-ae-detail"),
    path("adverse-events/<int:pk>/sign/", safety_views.adverse_event_sign, name="web-ae-sign"),
    path("adverse-events/<int:pk>/query/", query_views.query_raise_on_event, name="web-ae-query-raise"),
    path("adverse-events/<int:pk>/follow-up/", safety_views.adverse_event_follow_up_page, name="web-ae-follow-up"),
    path("adverse-events/<int:pk>/sponsor-assessment/", safety_views.adverse_event_sponsor_assess_page, name="web-ae-sponsor-assess"),
    path("clocks/<int:pk>/", safety_views.clock_page, name="web-clock-detail"),
    path("clocks/<int:pk>/report/", safety_views.clock_report, name="web-clock-report"),
    path("ctcae/search/", safety_views.ctcae_search, name="web-ctcae-search"),
    path("ctcae/term/", safety_views.ctcae_term, name="web-ctcae-term"),
    path("queries/", query_views.query_list_page, name="web-query-list"),
    path("queries/<int:pk>/", query_views.query_detail_page, name="web-query-detail"),
    path("queries/<int:pk>/<slug:action>/", query_views.query_action, name="web-query-action"),
]
