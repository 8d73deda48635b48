"""After a cache could not be reached, the code that can do without it (pages made uncached,
image renditions looked up on disk) leaves it alone for a moment: a Redis that stopped
answering then costs one request a second per process the Redis timeout (DJANGO_REDIS_TIMEOUT),
not every request. Writes that must reach the cache (a content change) try it all the same.

Only a cache that cannot be reached rests, not one that refuses a command (a full Redis still
serves what it has) or gives back what cannot be read: those fail only what they fail."""

import time

import redis

REST_SECONDS = 1.0
# What a server that is down, silent past the timeout or unreachable raises (socket errors are
# OSErrors, as is the built-in ConnectionError).
UNREACHABLE = (OSError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

_failed_at = {}  # cache alias: time.monotonic() of its last failure


def record(alias, error):
    """Note that `error` came from the cache `alias`; it rests if the error says unreachable."""
    if isinstance(error, UNREACHABLE):
        _failed_at[alias] = time.monotonic()


def resting(alias):
    failed_at = _failed_at.get(alias)
    return failed_at is not None and time.monotonic() - failed_at < REST_SECONDS


def forget():
    _failed_at.clear()
