"""
Settings for the test suite: the project's settings, read from the environment as always,
with the defaults `make test` documents. The tests run on PostgreSQL only.
"""

import os

from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DATABASE_URL", "postgres://baltmet:baltmet@127.0.0.1:5432/baltmet")
# A fixed key is fine for a throwaway test database; production refuses to start without one.
os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-" + "x1y2z3" * 10)

# The tests use Redis through REDIS_TEST_URL, each with a key prefix of its own: with a shell's
# REDIS_URL (for the site one runs) read as the site reads it, every cache.clear() of a test
# emptied that Redis's database (review r28e).
os.environ.pop("REDIS_URL", None)

# The test client speaks plain http; HTTPS behaviour is tested with explicit overrides.
os.environ.setdefault("DJANGO_HTTPS", "0")

from baltmet.settings import *  # noqa: E402,F403
from baltmet.settings import DATABASES  # noqa: E402

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured(
        "The tests run on PostgreSQL only; DATABASE_URL points elsewhere. "
        "Run `make test`, which starts a local PostgreSQL, or set DATABASE_URL=postgres://..."
    )

# With Redis, a hit asks the database only when a check is due, a second after the last read by
# default: tests that count a hit's queries would then hang on the machine's speed. The tests
# of the check set it themselves (tests/test_performance_shared_version_follows_database.py);
# the processes the tests start keep the default.
PAGE_CACHE_DATABASE_CHECK_SECONDS = None

# Hashing passwords slowly is a production feature, not something to test.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
# Serve static files from the apps' folders, as in development, without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Several checkouts or people sharing one server can keep their test databases apart.
if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}
