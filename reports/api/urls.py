from rest_framework.routers import SimpleRouter

from reports.api import views

router = SimpleRouter()
router.register("runs", views.ReportRunViewSet, basename="report-run")

urlpatterns = router.urls
