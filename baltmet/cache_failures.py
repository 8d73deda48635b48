"""After the cache failed, the code that can do without it (pages made uncached, image
renditions looked up on disk) leaves it alone for a moment: a Redis that stopped answering
then costs one request a second per process the Redis timeout (DJANGO_REDIS_TIMEOUT), not every
request. Writes that must reach the cache (a content change) try it all the same."""

import time

REST_SECONDS = 1.0
_failed_at = None  # time.monotonic() of the last failure


def record():
    global _failed_at
    _failed_at = time.monotonic()


def resting():
    failed_at = _failed_at
    return failed_at is not None and time.monotonic() - failed_at < REST_SECONDS


def forget():
    global _failed_at
    _failed_at = None
