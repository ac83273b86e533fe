"""bench/settings.py's URLconf: the project's URLs plus /bench/trivial/, a DRF view with the same authentication,
renderer and middleware as every API view but no query and no work: the anchor of bench/api.py."""
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as project_urls


class Trivial(APIView):
    def get(self, request: Request) -> Response:
        return Response({"ok": True})


urlpatterns = [*project_urls, path("bench/trivial/", Trivial.as_view(), name="bench-trivial")]
