from rest_framework.routers import SimpleRouter

from imaging.api import views

router = SimpleRouter()
router.register("uploads", views.UploadViewSet, basename="imaging-upload")
router.register("studies", views.StudyViewSet, basename="imaging-study")
router.register("series", views.SeriesViewSet, basename="imaging-series")
router.register("instances", views.InstanceViewSet, basename="imaging-instance")
urlpatterns = router.urls
