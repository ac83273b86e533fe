from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from imaging.reading.api import comparison, sessions, sheets
from registry.api.patients import PatientViewSet

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
    # A study ID has one shape (the patients API's): anything else is a 404 here, never a lookup with a raw string.
    re_path(rf"^patients/(?P<study_id>{PatientViewSet.lookup_value_regex})/timeline/$", sheets.PatientTimelineView.as_view(),
            name="reading-patient-timeline"),
    *router.urls,
]
