"""Reading pages (mounted under imaging/ by config/urls.py): the reading list, score sheets and blinded reads."""
from django.urls import URLPattern, path

from imaging.reading import dicomweb
from imaging.reading.web import views

# A blinded case's own DICOMweb root (imaging/reading/dicomweb.py): the viewer's few resources, pseudonymous UIDs.
_CASE_DW = "reading/assignments/<int:pk>/cases/<int:position>/dicomweb/studies/<str:study>"

urlpatterns: list[URLPattern] = [
    path("reading/", views.reading_list, name="web-reading-list"),
    path("studies/<int:pk>/score/<str:kind>/", views.score_sheet_page, name="web-score-sheet"),
    path("reading/assignments/<int:pk>/", views.assignment_page, name="web-reading-assignment"),
    path("reading/assignments/<int:pk>/cases/<int:position>/", views.case_page, name="web-reading-case"),
    path("reading/assignments/<int:pk>/cases/<int:position>/images/<int:number>/", views.case_image,
         name="web-reading-case-image"),
    path(f"{_CASE_DW}/series", dicomweb.CaseSeriesView.as_view(), name="reading-case-dicomweb-series"),
    path(f"{_CASE_DW}/series/<str:series>/metadata", dicomweb.CaseMetadataView.as_view(),
         name="reading-case-dicomweb-metadata"),
    path(f"{_CASE_DW}/series/<str:series>/instances/<str:instance>/frames/<str:frames>", dicomweb.CaseFramesView.as_view(),
         name="reading-case-dicomweb-frames"),
]
