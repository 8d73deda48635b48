"""Load baltmet/settings.py afresh under a given environment, without touching the live settings."""

import importlib.util
from pathlib import Path

SETTINGS_FILE = Path(__file__).resolve().parent.parent / "baltmet" / "settings.py"

# Every variable the settings read; each load starts from none of them set.
SETTINGS_ENV = [
    "DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DJANGO_CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL", "DATABASE_CONN_MAX_AGE", "DATABASE_CONNECT_TIMEOUT", "DATABASE_STATEMENT_TIMEOUT",
    "REDIS_URL", "MEDIA_ROOT", "STATIC_ROOT",
    "DJANGO_TIME_ZONE", "DJANGO_LANGUAGE_CODE", "DJANGO_HTTPS", "DJANGO_HSTS_SECONDS",
    "DJANGO_BEHIND_PROXY", "DJANGO_SERVE_MEDIA", "DJANGO_MAX_UPLOAD_SIZE", "DJANGO_LOG_LEVEL",
    "DJANGO_PAGE_CACHE_SECONDS", "DJANGO_CACHE_KEY_PREFIX", "DJANGO_DB_PREPARED_STATEMENTS",
    "DJANGO_REDIS_TIMEOUT", "DJANGO_PAGE_CACHE_LISTEN", "DJANGO_PAGE_CACHE_LOCAL_ENTRIES",
    "DJANGO_PAGE_CACHE_LOCAL_MEGABYTES",
    "DJANGO_LOGIN_COOLOFF_MINUTES", "DJANGO_LOGIN_FAILURE_LIMIT", "DJANGO_MAX_IMAGE_PIXELS",
    "DJANGO_ROOT_URLCONF",
]

STRONG_KEY = "k3Y-" + "a9Zq7Lm2Xw5Rt8Vb1Nc4" * 3


def load_settings(monkeypatch, **env):
    for name in SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("baltmet_settings_under_test", SETTINGS_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
