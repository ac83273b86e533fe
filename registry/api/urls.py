from django.urls import path
from rest_framework.routers import DefaultRouter

from registry.api import consent, followup, patients, views

router = DefaultRouter()
router.register("hospitals", views.HospitalViewSet, basename="hospital")
router.register("memberships", views.MembershipViewSet, basename="membership")
router.register("audit-events", views.AuditEventViewSet, basename="audit-event")
router.register("jobs", views.JobViewSet, basename="job")
router.register("patients", patients.PatientViewSet, basename="patient")
router.register("consent-documents", consent.ConsentDocumentViewSet, basename="consent-document")
router.register("consents", consent.ConsentRecordViewSet, basename="consent")
router.register("visits", followup.VisitViewSet, basename="visit")
router.register("follow-up-plans", followup.PlanViewSet, basename="follow-up-plan")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("code-lists/", views.CodeListView.as_view(), name="code-lists"),
    path("worklist/", followup.WorklistView.as_view(), name="worklist"),
    path("outcomes/", followup.OutcomeListView.as_view(), name="outcomes"),
    *router.urls,
]
