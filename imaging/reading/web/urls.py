"""Reading pages (mounted under imaging/ by config/urls.py): the reading list, score sheets and blinded reads."""
from django.urls import URLPattern, path

from imaging.reading.web import views

urlpatterns: list[URLPattern] = [
    path("reading/", views.reading_list, name="web-reading-list"),
    path("studies/<int:pk>/score/<str:kind>/", views.score_sheet_page, name="web-score-sheet"),
    path("reading/assignments/<int:pk>/", views.assignment_page, name="web-reading-assignment"),
    path("reading/assignments/<int:pk>/cases/<int:position>/", views.case_page, name="web-reading-case"),
    path("reading/assignments/<int:pk>/cases/<int:position>/images/<int:number>/", views.case_image,
         name="web-reading-case-image"),
]
