from rest_framework.routers import SimpleRouter

from trials.safety.api.views import AdverseEventViewSet, CtcaeTermViewSet, ReportingClockViewSet

router = SimpleRouter()
router.register("ctcae-terms", CtcaeTermViewSet, basename="ctcae-term")
router.register("adverse-events", AdverseEventViewSet, basename="adverse-event")
router.register("clocks", ReportingClockViewSet, basename="reporting-clock")

urlpatterns = [*router.urls]
