"""Settings for bench/api.py only: the demo settings with DEBUG off, no throttling, and bench/urls.py, which adds the
trivial DRF endpoint the load test uses as its anchor. Never used by the deployed application (config/settings/
production.py and config/urls.py know nothing of it)."""
from config.settings.dev import *  # noqa: F403
from config.settings.dev import REST_FRAMEWORK

DEBUG = False
ROOT_URLCONF = "bench.urls"
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
