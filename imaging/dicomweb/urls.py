from django.urls import path

from imaging.dicomweb import views

_STUDY = "studies/<str:study>"
_SERIES = f"{_STUDY}/series/<str:series>"
_INSTANCE = f"{_SERIES}/instances/<str:instance>"
_FRAMES = f"{_INSTANCE}/frames/<str:frames>"

urlpatterns = [
    # QIDO-RS at every level (and STOW-RS on the studies resources)
    path("studies", views.StudiesView.as_view(), name="dicomweb-studies"),
    path("series", views.AllSeriesView.as_view(), name="dicomweb-all-series"),
    path("instances", views.AllInstancesView.as_view(), name="dicomweb-all-instances"),
    path(f"{_STUDY}/series", views.StudySeriesView.as_view(), name="dicomweb-series-search"),
    path(f"{_STUDY}/instances", views.StudyInstancesView.as_view(), name="dicomweb-study-instances"),
    path(f"{_SERIES}/instances", views.SeriesInstancesView.as_view(), name="dicomweb-instances"),
    # WADO-RS
    path(_STUDY, views.StudyStoreView.as_view(), name="dicomweb-study"),
    path(_SERIES, views.SeriesRetrieveView.as_view(), name="dicomweb-series"),
    path(_INSTANCE, views.InstanceRetrieveView.as_view(), name="dicomweb-instance"),
    path(f"{_STUDY}/metadata", views.MetadataView.as_view(), name="dicomweb-study-metadata"),
    path(f"{_SERIES}/metadata", views.MetadataView.as_view(), name="dicomweb-series-metadata"),
    path(f"{_INSTANCE}/metadata", views.MetadataView.as_view(), name="dicomweb-instance-metadata"),
    path(f"{_INSTANCE}/bulkdata/<path:path>", views.BulkDataView.as_view(), name="dicomweb-bulkdata"),
    path(_FRAMES, views.FramesView.as_view(), name="dicomweb-frames"),
    path(f"{_STUDY}/rendered", views.RenderedView.as_view(), name="dicomweb-study-rendered"),
    path(f"{_SERIES}/rendered", views.RenderedView.as_view(), name="dicomweb-series-rendered"),
    path(f"{_INSTANCE}/rendered", views.RenderedView.as_view(), name="dicomweb-instance-rendered"),
    path(f"{_FRAMES}/rendered", views.RenderedView.as_view(), name="dicomweb-frames-rendered"),
    path(f"{_STUDY}/thumbnail", views.ThumbnailView.as_view(), name="dicomweb-study-thumbnail"),
    path(f"{_SERIES}/thumbnail", views.ThumbnailView.as_view(), name="dicomweb-series-thumbnail"),
    path(f"{_INSTANCE}/thumbnail", views.ThumbnailView.as_view(), name="dicomweb-instance-thumbnail"),
    path(f"{_FRAMES}/thumbnail", views.ThumbnailView.as_view(), name="dicomweb-frames-thumbnail"),
]
