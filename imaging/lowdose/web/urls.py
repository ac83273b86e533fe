"""Low-dose evaluation pages (mounted under imaging/ by config/urls.py): protocols, their pairs, one pair's metrics."""
from django.urls import URLPattern, path

from imaging.lowdose.web import dose_saving, views

urlpatterns: list[URLPattern] = [
    path("lowdose/", views.protocol_list, name="web-lowdose-protocols"),
    path("lowdose/protocols/new/", views.protocol_new, name="web-lowdose-protocol-new"),
    path("lowdose/protocols/<int:pk>/", views.protocol_detail, name="web-lowdose-protocol"),
    path("lowdose/protocols/<int:pk>/find/", views.pairs_find_page, name="web-lowdose-pairs-find"),
    path("lowdose/protocols/<int:pk>/assign/", views.pair_assign_page, name="web-lowdose-pair-assign"),
    path("lowdose/protocols/<int:pk>/reader-study/", views.reader_study_page, name="web-lowdose-reader-study"),
    path("lowdose/pairs/<int:pk>/", views.pair_detail, name="web-lowdose-pair"),
    path("lowdose/pairs/<int:pk>/retry/", views.pair_retry_page, name="web-lowdose-pair-retry"),
    path("lowdose/dose-saved/", dose_saving.dose_saving_page, name="web-lowdose-dose-saving"),
]
