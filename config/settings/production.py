"""Production: fails closed. Every required variable must be set, or start-up stops naming what is missing."""
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import PRODUCTION_REQUIRED_ENV, env

_missing = [name for name in PRODUCTION_REQUIRED_ENV if not env(name, default="")]
if _missing:
    raise ImproperlyConfigured(f"Production settings need these environment variables: {', '.join(_missing)}")

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters with at least 5 distinct ones")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
AUDIT_HMAC_KEY = env("AUDIT_HMAC_KEY")
if len(AUDIT_HMAC_KEY) < 32:
    raise ImproperlyConfigured("AUDIT_HMAC_KEY must be at least 32 characters")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    raise ImproperlyConfigured("Production runs on PostgreSQL: DATABASE_URL must not point at SQLite")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
X_FRAME_OPTIONS = "DENY"
# The API schema and docs only for signed-in users.
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=False)
STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}  # noqa: F405
