"""The Redis the tests use: `make test` starts one (scripts/ensure-test-services.sh) and sets
REDIS_TEST_URL. Tests that need it fail without it, saying how to get one; they are never
skipped."""

import contextlib
import os
import subprocess
import time
import urllib.parse
import uuid

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from baltmet import content_version


def redis_url(db):
    """The URL of database `db` of the tests' Redis, after checking that it answers."""
    base = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379").rstrip("/")
    url = f"{base}/{db}" if urllib.parse.urlsplit(base).path in ("", "/") else base
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        pytest.fail(
            f"Redis is not reachable at {url} ({error}). These tests need one: run `make test`, which "
            "installs and starts redis-server (scripts/ensure-test-services.sh), or set REDIS_TEST_URL."
        )
    return url


@contextlib.contextmanager
def redis_server_of_its_own(*options, **connection):
    """A redis-server of a test's own, started with `options` and nothing kept on disk, once it
    answers through `connection` (redis.Redis's: port=..., or unix_socket_path=...); a client
    of it, and the server stopped afterwards."""
    server = subprocess.Popen(
        ["redis-server", "--save", "", "--appendonly", "no", *options], stdout=subprocess.DEVNULL
    )
    client = redis.Redis(**connection)
    try:
        for _ in range(100):
            with contextlib.suppress(redis.ConnectionError):
                client.ping()
                break
            time.sleep(0.05)
        yield client
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=10)


def unique_key_prefix():
    """A cache key prefix of its own, so that test runs sharing one Redis never see each
    other's keys (and nothing needs to empty a database another run may be using)."""
    return f"test-{uuid.uuid4().hex}"


def emptied(cache):
    """`cache` emptied of what the test put there: a Redis cache's keys under its own prefix
    only, as its clear() empties the whole database, which may be someone's own Redis given
    with REDIS_TEST_PORT (review r28c)."""
    if not isinstance(cache, RedisCache):
        cache.clear()
        return
    assert cache.key_prefix, "a Redis cache of the tests has a key prefix of its own"
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter(match=f"{cache.key_prefix}:*"):
        client.delete(key)


def use_redis_page_cache(settings, db, location=None, timeout=None):
    """Point the test's `settings` at database `db` of the tests' Redis, as REDIS_URL does: the
    cache there (with a key prefix of its own, and the settings' REDIS_OPTIONS), the page cache's
    version kept in it, and the process's own copies of pages in a local-memory cache of the
    test's own. `location` reaches that database another way (a proxy), `timeout` replaces
    REDIS_TIMEOUT_SECONDS. Returns the cache."""
    settings.PAGE_CACHE_SECONDS = 3600
    prefix = unique_key_prefix()
    location = location or redis_url(db)
    timeout = settings.REDIS_TIMEOUT_SECONDS if timeout is None else timeout
    settings.CACHES = {
        "default": {
            "BACKEND": "baltmet.cache.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": prefix,
            "OPTIONS": {**settings.REDIS_OPTIONS, "socket_connect_timeout": timeout, "socket_timeout": timeout},
        },
        "pages-local": {
            "BACKEND": "baltmet.local_memory_cache.LocMemCache",
            "LOCATION": prefix,
            "OPTIONS": {"MAX_BYTES": settings.PAGE_CACHE_LOCAL_MAX_BYTES},
        },
    }
    settings.PAGE_CACHE_VERSION_IN_CACHE = True
    settings.PAGE_CACHE_LOCAL_ALIAS = "pages-local"
    return caches["default"]


class UnreachableCache:
    """A cache whose every operation raises ConnectionError, as with Redis down or silent past
    its timeout; `asked` lists the operations tried."""

    def __init__(self):
        self.asked = []

    def __getattr__(self, name):
        def unreachable(*args, **kwargs):
            self.asked.append(name)
            raise ConnectionError("Redis is down")

        return unreachable


def make_the_page_cache_unreachable(monkeypatch):
    """Every use of the page cache's cache raises ConnectionError, as with Redis down. A change
    tries it once, not for VERSION_WRITE_SECONDS."""
    monkeypatch.setattr(content_version, "shared_cache", UnreachableCache)
    monkeypatch.setattr(content_version, "VERSION_WRITE_SECONDS", 0)
