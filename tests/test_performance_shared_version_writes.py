"""The shared content version (REDIS_URL): a change writes it first, so that nothing the
database does (a write failing for a moment, waiting on a lock) holds up the version the pages
go by, and Redis failing never costs a script managing its own transaction its work.

These commit (transactional_db), as a site does; they use the tests' Redis (redis_for_tests)."""

import threading
import time

import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections

from baltmet import page_cache
from baltmet.models import ContentVersion
from baltmet.page_cache import content_changed
from tests.redis_for_tests import make_the_page_cache_unreachable, use_redis_page_cache

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_DB = 8


@pytest.fixture(autouse=True)
def _redis_page_cache(settings):
    use_redis_page_cache(settings, REDIS_DB)


def _version():
    return ContentVersion.objects.get(pk=1).version


def test_with_redis_a_failing_database_write_does_not_hold_up_the_shared_version(monkeypatch):
    tries = []

    def database_fails(using):
        tries.append(("the database", time.monotonic()))
        raise OperationalError("canceling statement due to lock timeout")

    incr = page_cache._incr_and_announce
    monkeypatch.setattr(page_cache, "_write_new_database_version", database_fails)
    monkeypatch.setattr(page_cache, "_incr_and_announce", lambda cache: tries.append(("redis", time.monotonic())) or incr(cache))
    started = time.monotonic()
    content_changed()  # outside a transaction, as after raw SQL
    # Pages go by Redis's version: it changes at once, while the database's is tried again.
    redis_at = next(at for place, at in tries if place == "redis")
    assert redis_at - started < 0.5
    assert [place for place, _ in tries].count("the database") > 1


def test_with_redis_a_database_write_waiting_on_a_lock_does_not_hold_up_the_shared_version():
    # Another session holds the version row (a script with autocommit off that called
    # content_changed() and has not committed yet, a stalled session): the database's write waits.
    cache = page_cache._cache()
    content_changed()
    before = cache.get(page_cache._VERSION_KEY)
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    other.set_autocommit(False)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT version FROM baltmet_contentversion WHERE id = 1 FOR UPDATE")
        thread = threading.Thread(target=lambda: (content_changed(), connections.close_all()))
        thread.start()
        deadline = time.monotonic() + 5
        while cache.get(page_cache._VERSION_KEY) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        moved_while_locked = cache.get(page_cache._VERSION_KEY) != before
    finally:
        other.rollback()
        other.close()
    thread.join(10)
    assert moved_while_locked, "Redis's version waited for the database's lock: visitors got the old pages"


def test_with_autocommit_off_redis_down_does_not_fail_the_scripts_transaction(monkeypatch, caplog):
    # A script managing its transaction by hand calls content_changed() after raw SQL; Redis is
    # down. That has not spoilt the script's transaction: logged, as in autocommit, not raised.
    content_changed()  # the version row exists
    make_the_page_cache_unreachable(monkeypatch)
    before = _version()
    connection.set_autocommit(False)
    try:
        content_changed()
        assert _version() != before  # the script's own write, not committed yet
        connection.commit()
    finally:
        connection.rollback()
        connection.set_autocommit(True)
    assert "could not record a content change in the shared cache" in caplog.text
