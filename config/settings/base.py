"""Settings shared by every mode.

Everything comes from the environment (django-environ). With no environment at all the defaults run
anywhere: a SQLite file under var/, eager Celery and files under var/media/. Setting DATABASE_URL and
CELERY_BROKER_URL switches to PostgreSQL and Redis; production.py additionally fails closed.
"""
import os
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

from config.queues import queue_names

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env("NBNM_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# Production (production.py) refuses to start unless every one of these is set.
PRODUCTION_REQUIRED_ENV = (
    "DJANGO_SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_ALLOWED_HOSTS", "PATIENT_IDENTITY_KEYS",
    "PATIENT_HASH_KEY", "DICOM_UID_KEY", "AUDIT_HMAC_KEY",
)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc as static files: the API docs load without internet
    "axes",
    "django_htmx",
    "registry",
    "trials",
    "trials.oversight",
    "trials.safety",
    "imaging",
    "imaging.reading",
    "imaging.lowdose",
    "imaging.enhancement",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "registry.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Axes must come last: it reads the outcome of the authentication backends.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'nbnm.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # BEGIN IMMEDIATE serialises writers up front, so two transactions never both read the audit
    # chain head and then fight over the write lock.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
    # SQLite serves the demo and development only (production refuses it): write-ahead logging with synchronous=NORMAL
    # lets readers work beside the one writer and syncs at checkpoints, not at every commit (a power cut may lose the
    # last commits, never corrupt the file); one-instance uploads went from 10 to 20 per second (docs/performance.md).
    DATABASES["default"]["OPTIONS"].update({"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"})
# A connection per worker thread kept for a minute (health-checked) instead of one per request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "registry.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Twelve identical characters or twelve spaces pass the rules above.
    {"NAME": "registry.validators.DistinctCharactersValidator", "OPTIONS": {"min_distinct": 4}},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Idle timeout: a session ends after 30 minutes without a request (shared clinic workstations).
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Login throttling (django-axes): lock a username+IP after 5 failures for 30 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# 429 with Retry-After: API clients (Accept JSON, /api/ paths, the token endpoint) get {"code": "locked_out", "detail",
# "retry_after_seconds"}, browsers the page (registry/lockout.py).
AXES_LOCKOUT_CALLABLE = "registry.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "registry.lockout.client_ip"
# Reverse proxies in front of Django that append to X-Forwarded-For. 0: the client is REMOTE_ADDR. Behind a proxy, set
# it, or every user shares the proxy's address and one user's failures lock the others out.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
# Each app keeps its own catalogue in <app>/locale/ (`make messages`); Django finds them through INSTALLED_APPS.
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Patient identity -----------------------------------------------------------------------------
# Fernet keys, newest first (see registry/identity_crypto.py and the README on rotation), and the HMAC
# key for duplicate detection. dev.py and test.py supply fixed non-secret keys; production requires both.
PATIENT_IDENTITY_KEYS: list[str] = env.list("PATIENT_IDENTITY_KEYS", default=[])
PATIENT_HASH_KEY = env("PATIENT_HASH_KEY", default="")

# --- Audit trail ----------------------------------------------------------------------------------
# The HMAC key of the audit hash chain (registry/audit.py). Kept out of the database so that someone who can
# rewrite audit rows cannot re-hash the chain after them; keep it for life (old events verify only with it).
AUDIT_HMAC_KEY = env("AUDIT_HMAC_KEY", default="")
# The daily checkpoint (registry.audit_checkpoint) appends the chain head here; audit_verify compares the chain
# with every line. In production point it at append-only / write-once storage the database users cannot change.
AUDIT_CHECKPOINT_PATH = Path(env("AUDIT_CHECKPOINT_PATH", default=str(VAR_DIR / "audit" / "checkpoints.log")))

# --- Imaging intake -------------------------------------------------------------------------------
# The HMAC key that remaps DICOM UIDs (same original -> same new UID); losing it breaks re-upload matching.
DICOM_UID_KEY = env("DICOM_UID_KEY", default="")
DICOM_MAX_FILE_BYTES = env.int("DICOM_MAX_FILE_BYTES", default=512 * 1024 * 1024)
ZIP_MAX_ENTRIES = env.int("ZIP_MAX_ENTRIES", default=20000)
# Temporary disk of an upload: one archive may expand to ZIP_MAX_TOTAL_BYTES, all the archives of one request
# together to INGEST_TEMP_MAX_BYTES (imaging.services.ingest; docs/operations.md).
ZIP_MAX_TOTAL_BYTES = env.int("ZIP_MAX_TOTAL_BYTES", default=2 * 1024**3)
INGEST_TEMP_MAX_BYTES = env.int("INGEST_TEMP_MAX_BYTES", default=4 * 1024**3)
ZIP_MAX_RATIO = env.float("ZIP_MAX_RATIO", default=200.0)
# Worker processes for the per-file work of large uploads (parse, de-identify, store); 0 or 1: in-process.
INGEST_WORKERS = env.int("INGEST_WORKERS", default=os.cpu_count() or 1)
# A series' analysis runs once it has received nothing for this long (one run for a series sent an instance per
# request, as PACS detect the end of a study); ignored without a broker (eager tasks run at once). imaging.services.ingest
IMAGING_PIPELINE_SETTLE_SECONDS = env.int("IMAGING_PIPELINE_SETTLE_SECONDS", default=15)
# Deferred filing (`Prefer: respond-async` on an upload): a file is answered 202 once it is in the encrypted spool, and
# filed with the others of its sender and patient about this many seconds later (imaging.services.receipts; in the
# demo without a broker, at once). Files larger than INTAKE_SPOOL_MAX_BYTES are encrypted whole in memory, so refused
# for deferred filing (sent without the preference, they are filed as usual). A filer claims at most
# INTAKE_FILING_BATCH receipts per transaction; a claim older than INTAKE_FILING_LEASE_SECONDS was a worker that died
# and is taken again.
INTAKE_FILING_DELAY_SECONDS = env.float("INTAKE_FILING_DELAY_SECONDS", default=1.0)
INTAKE_SPOOL_MAX_BYTES = env.int("INTAKE_SPOOL_MAX_BYTES", default=64 * 1024 * 1024)
INTAKE_FILING_BATCH = env.int("INTAKE_FILING_BATCH", default=500)
INTAKE_FILING_LEASE_SECONDS = env.int("INTAKE_FILING_LEASE_SECONDS", default=600)
# A deferred upload's checks at receipt (scope, consent) are reused this long for the same user and patient; the
# filing checks again, and its answer decides.
INTAKE_RECEIVE_CHECK_SECONDS = env.float("INTAKE_RECEIVE_CHECK_SECONDS", default=5.0)
# The DICOM listener (manage.py dicom_listener; docs/imaging/network.md): C-STORE, C-ECHO and Modality Worklist.
DICOM_LISTENER_AE_TITLE = env("DICOM_LISTENER_AE_TITLE", default="NBNM")
DICOM_LISTENER_PORT = env.int("DICOM_LISTENER_PORT", default=11112)
# Instances of an association wait here until it ends; what an interrupted listener left is ingested at its next start.
DICOM_SPOOL_DIR = Path(env("DICOM_SPOOL_DIR", default=str(VAR_DIR / "dicom" / "spool")))
# Instances for no known patient, as received (identified): private to the platform, removed when resolved.
DICOM_UNMATCHED_DIR = Path(env("DICOM_UNMATCHED_DIR", default=str(VAR_DIR / "dicom" / "unmatched")))
# A request of up to FILE_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MB) is read in memory, a larger one streams to temporary
# files: a small upload (one instance) needs no file create, and no large body is held whole (imaging/uploaded.py).
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler",
                        "django.core.files.uploadhandler.TemporaryFileUploadHandler"]
DATA_UPLOAD_MAX_NUMBER_FILES = env.int("DATA_UPLOAD_MAX_NUMBER_FILES", default=10000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024  # form fields only; files do not count

# --- Files ----------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Bootstrap and the site stylesheet are served from here (no CDN: hospital networks have no internet).
STATICFILES_DIRS = [BASE_DIR / "config" / "static"]
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request when it is missing
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    # Everything goes through Django's storage API so S3-compatible storage (django-storages) drops in.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# STORAGE_BACKEND=s3: DICOM instances, previews, cached volumes, consent and protocol files and report outputs in an
# S3-compatible bucket (AWS S3, MinIO, Ceph RGW, ...) through django-storages (the `s3` extra). Objects are private
# (no ACL; nothing is ever served from a bucket URL: every file leaves through a view that checks access).
STORAGE_BACKEND = env("STORAGE_BACKEND", default="filesystem")
if STORAGE_BACKEND == "s3":
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": env("S3_BUCKET", default=""),
        # Empty: AWS's own endpoint for the region. MinIO and other S3-compatible stores: their URL.
        "endpoint_url": env("S3_ENDPOINT_URL", default="") or None,
        "region_name": env("S3_REGION", default="") or None,
        # Empty: boto3's own chain (AWS_* variables, an instance or pod role, ~/.aws).
        "access_key": env("S3_ACCESS_KEY_ID", default="") or None,
        "secret_key": env("S3_SECRET_ACCESS_KEY", default="") or None,
        # "path" for most self-hosted stores (bucket in the path), "virtual" (bucket in the host name), or auto.
        "addressing_style": env("S3_ADDRESSING_STYLE", default="") or None,
        "location": env("S3_PREFIX", default=""),  # a key prefix, to share a bucket
        "verify": env("S3_CA_BUNDLE", default="") or None,  # a private CA's bundle, for a store with its own certificate
        "signature_version": "s3v4",
        "default_acl": None,
        "querystring_auth": True,
        # Every name the platform writes is unique (content addresses, generated names, per-run report keys), and the
        # writers that replace a file mean to: no existence check before each write.
        "file_overwrite": True,
        # A file opened for reading is spooled to a temporary file beyond this size, not held in memory.
        "max_memory_size": env.int("S3_MAX_MEMORY_BYTES", default=16 * 1024 * 1024),
    }}
    if not STORAGES["default"]["OPTIONS"]["bucket_name"]:
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs S3_BUCKET")
elif STORAGE_BACKEND != "filesystem":
    raise ImproperlyConfigured("STORAGE_BACKEND is filesystem (the default) or s3")

# --- API ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header turns an anonymous request into 401 rather than 403. DRF's, with a
        # deferred upload's token remembered for a few seconds (registry/api/deferred.py).
        "registry.api.deferred.DeferredTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "registry.api.pagination.DefaultPagination",
    # JSON bodies with a NUL character anywhere are refused as bad input (PostgreSQL cannot store NUL): registry/api/parsers.py.
    "DEFAULT_PARSER_CLASSES": ["registry.api.parsers.JSONParser", "registry.api.parsers.FormParser",
                               "registry.api.parsers.MultiPartParser"],
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "registry.api.filters.FilterBackend",  # django-filter's, refusing ids past 64 bits with a 400
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "registry.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min", "user": "2000/min"},
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# The schema and its viewers without login (the demo); production turns this off (config/api_docs.py).
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=True)
SPECTACULAR_SETTINGS = {
    "TITLE": "Neuroblastoma nuclear-medicine platform API",
    "DESCRIPTION": "Registry, radiopharmaceutical trials and imaging. Every list is paginated and scoped "
    "to the caller's hospitals and trials; records outside that scope answer 404.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The viewers' scripts from our static files (drf-spectacular-sidecar), and no call to the online validator.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets that share a field name across apps ("kind", "status", "role") or one set under several
    # field names (the radiopharmaceutical catalogue) get a name of their own in the schema.
    "ENUM_NAME_OVERRIDES": {
        "GuardianRelationshipEnum": "registry.models.consent.ConsentRecord.Relationship",
        "HospitalRoleEnum": "registry.access.HospitalRole",
        "JobStatusEnum": "registry.models.jobs.Job.Status",
        "RadiopharmaceuticalEnum": "nucmed.radiopharmaceuticals.CHOICES",
        "ScoreSheetKindEnum": "imaging.reading.models.sheets.ScoreSheet.Kind",
        "PreviewKindEnum": "imaging.models.analysis.Preview.Kind",
        "VoiKindEnum": "imaging.models.analysis.VoiMeasurement.Kind",
        # A low-dose protocol's reference and test roles are one set.
        "LowdoseSeriesRoleEnum": "imaging.lowdose.models.SeriesRole",
        # An imaging study's acquisition protocol: the study's field and the dose-saved rows share one set.
        "AcquisitionProtocolEnum": "imaging.models.studies.ImagingStudy.AcquisitionProtocol",
        # Where images came from: an upload's and a deferred upload's receipt share one set.
        "UploadSourceEnum": "imaging.models.uploads.Upload.Source",
        # The trial's dosage table and its fallback share one set; the hospital's default is labelled differently.
        "TrialDosageTableEnum": "trials.models.trials.Trial.DosageTable",
        "HospitalDosageTableEnum": "registry.models.hospitals.DOSAGE_TABLE_CHOICES",
    },
}

# --- Celery ---------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
# No broker configured -> run tasks in-process so the demo works on a bare machine.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="nbnm")
# A queue per kind of work (config/queues.py): ingest follow-up on the default queue, then <default>.analysis,
# <default>.reports and <default>.beat. A worker without -Q consumes them all; compose runs one worker per queue.
CELERY_TASK_ROUTES = ("config.celery_app.route_task",)
CELERY_TASK_QUEUES = [Queue(name, routing_key=name) for name in queue_names(CELERY_TASK_DEFAULT_QUEUE)]
CELERY_TASK_IGNORE_RESULT = True  # job rows hold status and results, not a result backend
# A message is acknowledged after its task, and given back to the broker when the worker process running it dies:
# a killed worker loses no message. Running one twice is harmless (the engine's claim, registry.services.work).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=660)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# How long Redis keeps a delivered, unacknowledged message before handing it out again (the whole worker was killed,
# so nobody gave it back). Longer than the hard time limit: a task still running is never handed to a second worker.
# Shorter than the lease (JOB_LEASE_SECONDS, checked below): a dead worker's messages come back, find their rows
# still leased and claim nothing, before the sweep re-queues those rows, so none arrives after the recovery.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 120)}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    # One sweep for every kind of background work (jobs, report runs, series pipelines): registry.services.work.
    "requeue-stale-work": {"task": "registry.requeue_stale_work", "schedule": 300.0},
    "follow-up-daily": {"task": "registry.follow_up_daily", "schedule": crontab(hour=1, minute=0)},
    "audit-checkpoint": {"task": "registry.audit_checkpoint", "schedule": crontab(hour=0, minute=30)},
    "sweep-reporting-clocks": {"task": "safety.sweep_reporting_clocks", "schedule": 900.0},
    # Receipts whose filing message was lost (broker down) or whose filer died: filed by the next sweep.
    "sweep-intake-receipts": {"task": "imaging.sweep_receipts", "schedule": 60.0},
}
# Background work (registry.services.work). Pending longer than this: its message is assumed lost (broker outage)
# and the sweep sends it again.
JOB_STALE_AFTER_SECONDS = env.int("JOB_STALE_AFTER_SECONDS", default=600)
# A running row's lease, renewed by each progress report. Longer than the hard time limit, so only a dead worker's
# row expires; the sweep then queues it again.
JOB_LEASE_SECONDS = env.int("JOB_LEASE_SECONDS", default=CELERY_TASK_TIME_LIMIT + 240)
# Attempts per row (transient errors and dead workers both count), and the backoff between them: doubling from the
# base, capped at the maximum.
JOB_MAX_ATTEMPTS = env.int("JOB_MAX_ATTEMPTS", default=5)
JOB_RETRY_BASE_SECONDS = env.int("JOB_RETRY_BASE_SECONDS", default=30)
JOB_RETRY_MAX_SECONDS = env.int("JOB_RETRY_MAX_SECONDS", default=900)
# The order the recovery relies on (see the visibility timeout above); a deployment that breaks it does not start.
if not (CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT < CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] < JOB_LEASE_SECONDS):
    raise ImproperlyConfigured(
        "Celery timings must satisfy CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT < CELERY_VISIBILITY_TIMEOUT < JOB_LEASE_SECONDS")

# --- Logging --------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "registry.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}, "celery.app.trace": {"level": "WARNING"},
        "kombu": {"level": "ERROR"},
    },
}
