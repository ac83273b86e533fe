"""Adverse-event, SAE clock and CTCAE pages (mounted under trials/ by config/urls.py, beside the trial pages)."""
from django.urls import URLPattern, path

from trials.safety.web import views

urlpatterns: list[URLPattern] = [
    path("subjects/<int:pk>/adverse-events/new/", views.adverse_event_create, name="web-ae-create"),
    path("adverse-events/<int:pk>/", views.adverse_event_detail, name="web-ae-detail"),
    path("adverse-events/<int:pk>/sign/", views.adverse_event_sign, name="web-ae-sign"),
    path("adverse-events/<int:pk>/query/", views.query_raise_on_event, name="web-ae-query-raise"),
    path("adverse-events/<int:pk>/follow-up/", views.adverse_event_follow_up_page, name="web-ae-follow-up"),
    path("adverse-events/<int:pk>/sponsor-assessment/", views.adverse_event_sponsor_assess_page, name="web-ae-sponsor-assess"),
    path("clocks/<int:pk>/", views.clock_page, name="web-clock-detail"),
    path("clocks/<int:pk>/report/", views.clock_report, name="web-clock-report"),
    path("ctcae/search/", views.ctcae_search, name="web-ctcae-search"),
    path("ctcae/term/", views.ctcae_term, name="web-ctcae-term"),
]
