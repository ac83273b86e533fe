from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from imaging.api import analysis, measurements, network, views
from registry.api.patients import PatientViewSet

router = SimpleRouter()
router.register("uploads", views.UploadViewSet, basename="imaging-upload")
router.register("receipts", views.IntakeReceiptViewSet, basename="imaging-receipt")
router.register("studies", views.StudyViewSet, basename="imaging-study")
router.register("series", views.SeriesViewSet, basename="imaging-series")
router.register("instances", views.InstanceViewSet, basename="imaging-instance")
router.register("dose-results", analysis.DoseResultViewSet, basename="imaging-dose")
router.register("suv-results", analysis.SuvResultViewSet, basename="imaging-suv")
router.register("previews", analysis.PreviewViewSet, basename="imaging-preview")
router.register("vois", analysis.VoiViewSet, basename="imaging-voi")
router.register("dicom-nodes", network.DicomNodeViewSet, basename="imaging-dicom-node")
router.register("unmatched", network.UnmatchedViewSet, basename="imaging-unmatched")
router.register("scheduled-exams", network.ScheduledExamViewSet, basename="imaging-scheduled-exam")
urlpatterns = [
    # A study ID has one shape (the patients API's): anything else is a 404 here, never a lookup with a raw string.
    re_path(rf"^patients/(?P<study_id>{PatientViewSet.lookup_value_regex})/dose-history/$", analysis.PatientDoseHistoryView.as_view(),
            name="imaging-patient-dose-history"),
    path("measurements/", measurements.MeasurementView.as_view(), name="imaging-measurements"),
    *router.urls,
]
