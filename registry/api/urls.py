from django.urls import path
from rest_framework.routers import DefaultRouter

from registry.api import views

router = DefaultRouter()
router.register("hospitals", views.HospitalViewSet, basename="hospital")
router.register("memberships", views.MembershipViewSet, basename="membership")
router.register("audit-events", views.AuditEventViewSet, basename="audit-event")
router.register("jobs", views.JobViewSet, basename="job")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    *router.urls,
]
