"""Data query pages (mounted under trials/ by config/urls.py, beside the trial pages)."""
from django.urls import URLPattern, path

from trials.oversight.web import views

urlpatterns: list[URLPattern] = [
    path("visits/<int:pk>/query/", views.query_raise_on_visit, name="web-visit-query-raise"),
    path("doses/<int:pk>/query/", views.query_raise_on_dose, name="web-dose-query-raise"),
    path("queries/", views.query_list_page, name="web-query-list"),
    path("queries/<int:pk>/", views.query_detail_page, name="web-query-detail"),
    path("queries/<int:pk>/<slug:action>/", views.query_action, name="web-query-action"),
]
