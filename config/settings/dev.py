"""Embedded default for a laptop or the demo: DEBUG on, a fixed non-secret key, SQLite unless told."""
from .base import *  # noqa: F403
from .base import MIDDLEWARE, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production-0123456789")
# Fixed, public keys: fine for demo and test data, never for real patients (production requires its own).
PATIENT_IDENTITY_KEYS = env.list("PATIENT_IDENTITY_KEYS", default=["_QXvWrgYsP_1tkI5DQNGLzoe8ByBq0Cd-y1s5-qyYOg="])
PATIENT_HASH_KEY = env("PATIENT_HASH_KEY", default="dev-only-record-number-hash-key")
DICOM_UID_KEY = env("DICOM_UID_KEY", default="dev-only-dicom-uid-remapping-key")
AUDIT_HMAC_KEY = env("AUDIT_HMAC_KEY", default="dev-only-audit-chain-hmac-key-0123456789")
# The demo's users see the friendly 404/500 pages, not Django's technical ones (the technical 404 lists every URL
# pattern); a developer who wants the technical page sets DJANGO_FRIENDLY_ERROR_PAGES=false. config/error_pages.py.
FRIENDLY_ERROR_PAGES = env.bool("DJANGO_FRIENDLY_ERROR_PAGES", default=True)
# First in the list, so it sees the response after every other middleware (the locale one included) has finished.
MIDDLEWARE = ["config.error_pages.FriendlyErrorPagesMiddleware", *MIDDLEWARE]
