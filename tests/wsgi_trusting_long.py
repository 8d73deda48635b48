"""The site's WSGI application, its processes trusting the content version they read for a
minute, not a second, unless told of a change: an edit seen through another app server at once
is then the announcement's doing, not the trust running out while the editor signed in and
saved (tests/test_performance_shared_cache.py; review r29d)."""

from baltmet.wsgi import application  # noqa: F401  (Django set up first)
from baltmet import postgres_watch, redis_watch

postgres_watch.TRUST_SECONDS = redis_watch.TRUST_SECONDS = 60
postgres_watch.WRITER_WAIT_SECONDS = 61  # longer than the trust (see postgres_watch)
