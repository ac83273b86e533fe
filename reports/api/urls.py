from django.urls import path
from rest_framework.routers import SimpleRouter

from reports.api import views

router = SimpleRouter()
router.register("runs", views.ReportRunViewSet, basename="report-run")

urlpatterns = [path("extract/dictionary/", views.ExtractDictionaryView.as_view(), name="report-extract-dictionary"),
               *router.urls]
