from django.urls import path

from imaging.dicomweb import views

urlpatterns = [
    path("studies", views.StudiesView.as_view(), name="dicomweb-studies"),
    path("studies/<str:study>", views.StudyStoreView.as_view(), name="dicomweb-study"),
    path("studies/<str:study>/series", views.StudySeriesView.as_view(), name="dicomweb-series-search"),
    path("studies/<str:study>/series/<str:series>", views.SeriesRetrieveView.as_view(), name="dicomweb-series"),
    path("studies/<str:study>/series/<str:series>/metadata", views.SeriesMetadataView.as_view(), name="dicomweb-series-metadata"),
    path("studies/<str:study>/series/<str:series>/instances", views.SeriesInstancesView.as_view(), name="dicomweb-instances"),
    path("studies/<str:study>/series/<str:series>/instances/<str:instance>", views.InstanceRetrieveView.as_view(),
         name="dicomweb-instance"),
]
