from django.urls import path
from rest_framework.routers import SimpleRouter

from imaging.reading.api import comparison, sessions, sheets

router = SimpleRouter()
router.register("sheets", sheets.ScoreSheetViewSet, basename="reading-sheet")
router.register("sessions", sessions.SessionViewSet, basename="reading-session")
router.register("assignments", sessions.AssignmentViewSet, basename="reading-assignment")
router.register("comparisons", comparison.ComparisonViewSet, basename="reading-comparison")
router.register("comparison-units", comparison.UnitViewSet, basename="reading-comparison-unit")

urlpatterns = [
    path("scoring-systems/", sheets.ScoringSystemsView.as_view(), name="reading-scoring-systems"),
    path("agreement/", sheets.AgreementView.as_view(), name="reading-agreement"),
    path("studies/<int:pk>/agreement/", sheets.StudyAgreementView.as_view(), name="reading-study-agreement"),
    path("patients/<str:study_id>/timeline/", sheets.PatientTimelineView.as_view(), name="reading-patient-timeline"),
    *router.urls,
]
