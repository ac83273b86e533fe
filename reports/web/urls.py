"""Report pages, under /reports/ (config/urls.py)."""
from django.urls import URLPattern, path

from reports.web import home, views  # noqa: F401  (home registers the sponsor's and monitor's home panels)

urlpatterns: list[URLPattern] = [
    path("", views.report_list, name="web-report-list"),
    path("new/<str:kind>/", views.report_new, name="web-report-new"),
    path("runs/<int:pk>/", views.report_detail, name="web-report-detail"),
    path("runs/<int:pk>/progress/", views.report_progress, name="web-report-progress"),
    path("runs/<int:pk>/files/<str:name>", views.report_download, name="web-report-download"),
    path("runs/<int:pk>/figures/<str:key>.svg", views.report_figure, name="web-report-figure"),
]
