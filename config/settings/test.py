"""Test settings: SQLite in memory by default; PostgreSQL + Redis when DATABASE_URL/CELERY_BROKER_URL are set."""
import os
import tempfile
import uuid
from pathlib import Path

from .base import *  # noqa: F403
from .base import DATABASES, env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY", default="test-only-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; never used outside tests
# One folder per pytest-xdist worker (PYTEST_XDIST_WORKER is gw0, gw1, ...), so two workers never share stored files.
MEDIA_ROOT = VAR_DIR / f"test-media-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"  # noqa: F405
# Throttling is switched on per test (tests/test_accounts.py); the test client's login() bypasses requests.
AXES_ENABLED = False
# Fixed, public keys: fine for demo and test data, never for real patients (production requires its own).
PATIENT_IDENTITY_KEYS = env.list("PATIENT_IDENTITY_KEYS", default=["_QXvWrgYsP_1tkI5DQNGLzoe8ByBq0Cd-y1s5-qyYOg="])
PATIENT_HASH_KEY = env("PATIENT_HASH_KEY", default="dev-only-record-number-hash-key")
DICOM_UID_KEY = env("DICOM_UID_KEY", default="dev-only-dicom-uid-remapping-key")
AUDIT_HMAC_KEY = env("AUDIT_HMAC_KEY", default="dev-only-audit-chain-hmac-key-0123456789")
# Checkpoints of one test process never reach another run's database (a test that writes them overrides the path).
AUDIT_CHECKPOINT_PATH = Path(tempfile.gettempdir()) / f"nbnm-test-audit-{uuid.uuid4().hex}" / "checkpoints.log"
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Transactional tests empty the tables with TRUNCATE between tests; the audit tables' TRUNCATE trigger lets it
    # through only in a database named test_* and with this session setting (registry migration 0009).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c nbnm.allow_audit_truncate=on".strip()
INGEST_WORKERS = env.int("INGEST_WORKERS", default=0)  # in-process; tests/test_ingest_pool.py exercises the pool
# Analysis as soon as queued (tests with real workers wait for it); imaging/tests/test_ingest_single.py sets a delay.
IMAGING_PIPELINE_SETTLE_SECONDS = env.int("IMAGING_PIPELINE_SETTLE_SECONDS", default=0)
