from rest_framework.routers import SimpleRouter

from trials.oversight.api.views import DataQueryViewSet, SignatureViewSet

router = SimpleRouter()
router.register("signatures", SignatureViewSet, basename="signature")
router.register("queries", DataQueryViewSet, basename="data-query")

urlpatterns = [*router.urls]
