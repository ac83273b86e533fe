from django.urls import path
from rest_framework.routers import SimpleRouter

from imaging.api import analysis, views

router = SimpleRouter()
router.register("uploads", views.UploadViewSet, basename="imaging-upload")
router.register("studies", views.StudyViewSet, basename="imaging-study")
router.register("series", views.SeriesViewSet, basename="imaging-series")
router.register("instances", views.InstanceViewSet, basename="imaging-instance")
router.register("dose-results", analysis.DoseResultViewSet, basename="imaging-dose")
router.register("suv-results", analysis.SuvResultViewSet, basename="imaging-suv")
router.register("previews", analysis.PreviewViewSet, basename="imaging-preview")
router.register("vois", analysis.VoiViewSet, basename="imaging-voi")
urlpatterns = [
    path("patients/<str:study_id>/dose-history/", analysis.PatientDoseHistoryView.as_view(), name="imaging-patient-dose-history"),
    *router.urls,
]
