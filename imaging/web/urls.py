"""Page URLs of imaging (mounted under imaging/): upload, study page, reading list, score sheets, blinded reads."""
from django.urls import URLPattern, path

from imaging.web import reading, views

urlpatterns: list[URLPattern] = [
    path("upload/", views.upload_page, name="web-upload"),
    path("studies/<int:pk>/", views.study_detail, name="web-study-detail"),
    path("studies/<int:pk>/progress/", views.study_progress, name="web-study-progress"),
    path("studies/<int:pk>/release/", views.study_release_page, name="web-study-release"),
    path("previews/<int:pk>/image/", views.preview_image, name="web-preview-image"),
    path("reading/", reading.reading_list, name="web-reading-list"),
    path("studies/<int:pk>/score/<str:kind>/", reading.score_sheet_page, name="web-score-sheet"),
    path("reading/assignments/<int:pk>/", reading.assignment_page, name="web-reading-assignment"),
    path("reading/assignments/<int:pk>/cases/<int:position>/", reading.case_page, name="web-reading-case"),
    path("reading/assignments/<int:pk>/cases/<int:position>/images/<int:number>/", reading.case_image,
         name="web-reading-case-image"),
]
