"""Test settings: SQLite in memory by default; PostgreSQL + Redis when DATABASE_URL/CELERY_BROKER_URL are set."""
from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY", default="test-only-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; never used outside tests
MEDIA_ROOT = VAR_DIR / "test-media"  # noqa: F405
# Throttling is switched on per test (tests/test_accounts.py); the test client's login() bypasses requests.
AXES_ENABLED = False
# Fixed, public keys: fine for demo and test data, never for real patients (production requires its own).
PATIENT_IDENTITY_KEYS = env.list("PATIENT_IDENTITY_KEYS", default=["_QXvWrgYsP_1tkI5DQNGLzoe8ByBq0Cd-y1s5-qyYOg="])
PATIENT_HASH_KEY = env("PATIENT_HASH_KEY", default="dev-only-record-number-hash-key")
DICOM_UID_KEY = env("DICOM_UID_KEY", default="dev-only-dicom-uid-remapping-key")
INGEST_WORKERS = env.int("INGEST_WORKERS", default=0)  # in-process; tests/test_ingest_pool.py exercises the pool
