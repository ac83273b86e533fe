from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from config.api_docs import redoc_view, schema_view, swagger_view
from registry.health import healthz
from registry.views import home, worklist_group_page


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico on pages without base.html's <link rel="icon"> (the API's JSON, a PDF). Resolved per
    request: production's manifest storage names the file by its hash only after collectstatic."""
    return HttpResponsePermanentRedirect(static("favicon.ico"))


urlpatterns = [
    path("", home, name="home"),
    path("worklist/<slug:kind>/", worklist_group_page, name="web-worklist-group"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    # Open in dev, signed-in users only in production (API_DOCS_PUBLIC; config/api_docs.py).
    path("api/schema/", schema_view, name="schema"),
    path("api/docs/", swagger_view, name="swagger-ui"),
    path("api/redoc/", redoc_view, name="redoc"),
    path("api/v1/", include("registry.api.urls")),
    path("api/v1/trials/", include("trials.api.urls")),
    path("api/v1/safety/", include("trials.safety.api.urls")),
    path("api/v1/oversight/", include("trials.oversight.api.urls")),
    path("api/v1/imaging/", include("imaging.api.urls")),
    path("api/v1/reading/", include("imaging.reading.api.urls")),
    path("api/v1/lowdose/", include("imaging.lowdose.api")),
    path("api/v1/enhancement/", include("imaging.enhancement.api")),
    path("api/v1/reports/", include("reports.api.urls")),
    path("dicomweb/", include("imaging.dicomweb.urls")),
    # Pages for hospital staff, sponsors and monitors (server-rendered; same services and selectors as the API).
    path("patients/", include("registry.web.urls")),
    path("consent-documents/", include("registry.web.consent_document_urls")),
    # Each app and sub-app owns its pages; a sub-app's pages share its parent's prefix.
    path("imaging/", include("imaging.web.urls")),
    path("imaging/", include("imaging.reading.web.urls")),
    path("imaging/", include("imaging.lowdose.web.urls")),
    path("imaging/", include("imaging.enhancement.web.urls")),
    path("trials/", include("trials.web.urls")),
    path("trials/", include("trials.safety.web.urls")),
    path("trials/", include("trials.oversight.web.urls")),
    path("reports/", include("reports.web.urls")),
]
# Stored files (consent scans, DICOM, report files, previews) are never served from MEDIA_URL, not even with DEBUG on:
# each is downloaded through a view that checks the user's access (tests/test_access_matrix.py).
# Error pages: Django's default handlers render registry/templates/403.html, 404.html and 500.html (in the user's
# language, through LocaleMiddleware); with DEBUG on, config/error_pages.py puts them in place of the technical pages.
