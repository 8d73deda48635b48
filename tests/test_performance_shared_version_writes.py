"""The shared content version (REDIS_URL): nothing the database does (a write failing for a
moment, waiting on a lock) holds up the version the pages go by, no page is kept with the
database's old validators, Redis failing never costs a script managing its own transaction its
work, and a process watching PostgreSQL's version instead is still told of changes.

These commit (transactional_db), as a site does; they use the tests' Redis (redis_for_tests)."""

import threading
import time
from datetime import timedelta

import psycopg2
import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections
from django.test import Client
from django.utils import timezone

from baltmet import content_version, postgres_watch
from baltmet.models import ContentVersion, ContentVersionWatch
from baltmet.content_version import content_changed
from baltmet.page_cache import HEADER
from tests.news_factories import make_article
from tests.page_cache_settings import use_local_memory_page_cache
from tests.redis_for_tests import UnreachableCache, make_the_page_cache_unreachable, use_redis_page_cache

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

    incr = content_version._incr_and_announce
    monkeypatch.setattr(content_version, "_write_new_database_version", database_fails)
    monkeypatch.setattr(content_version, "_incr_and_announce", lambda cache: tries.append(("redis", time.monotonic())) or incr(cache))
    content_changed()  # outside a transaction, as after raw SQL
    # Pages go by Redis's version: it changes in the first round, while the database's is
    # tried again.
    places = [place for place, _ in tries]
    assert places[:2] == ["the database", "redis"] and places.count("the database") > 1, places


def test_with_redis_a_database_write_waiting_on_a_lock_does_not_hold_up_the_shared_version():
    # Another session holds the version row (a script with autocommit off that called
    # content_changed() and has not committed yet, a stalled session): the database's write waits.
    cache = content_version.shared_cache()
    content_changed()
    before = cache.get(content_version.VERSION_KEY)
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    other.set_autocommit(False)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT version FROM baltmet_contentversion WHERE id = 1 FOR UPDATE")
        thread = threading.Thread(target=lambda: (content_changed(), connections.close_all()))
        thread.start()
        deadline = time.monotonic() + 5
        while cache.get(content_version.VERSION_KEY) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        moved_while_locked = cache.get(content_version.VERSION_KEY) != before
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
        connection.cursor().execute("SELECT 1")  # the script's own work: its transaction is open
        content_changed()
        assert _version() != before  # the script's own write, not committed yet
        connection.commit()
    finally:
        connection.rollback()
        connection.set_autocommit(True)
    assert "could not record a content change in the shared cache" in caplog.text


def test_a_feed_made_while_the_database_version_waits_keeps_no_old_validators(client, monkeypatch):
    # Another session holds the version row while an editor saves: Redis's version moves on at
    # once, the database's waits. A feed made meanwhile has the new content; it must not be kept
    # with the validators of the database's old version, answering 304 to readers who have the
    # feed from before the change.
    article = make_article("Feed news")
    later = timezone.now() + timedelta(seconds=2)  # a Last-Modified is sent once its second is over
    monkeypatch.setattr(timezone, "now", lambda: later)
    first = client.get("/news/feed/")
    assert first.status_code == 200 and "Feed news" in first.content.decode()

    cache = content_version.shared_cache()
    before = cache.get(content_version.VERSION_KEY)
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    other.set_autocommit(False)
    saved = threading.Event()

    def edit():
        article.title = "Renamed news"
        article.save()
        saved.set()
        connections.close_all()

    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT version FROM baltmet_contentversion WHERE id = 1 FOR UPDATE")
        thread = threading.Thread(target=edit)
        thread.start()
        deadline = time.monotonic() + 5
        while cache.get(content_version.VERSION_KEY) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        assert cache.get(content_version.VERSION_KEY) != before
        assert "Renamed news" in client.get("/news/feed/").content.decode()
    finally:
        other.rollback()
        other.close()
    thread.join(10)
    assert saved.is_set()

    for headers in ({"If-None-Match": first["ETag"]}, {"If-Modified-Since": first["Last-Modified"]}):
        response = Client().get("/news/feed/", headers=headers)
        assert response.status_code == 200, f"{headers}: the reader is told the feed from before the change is current"
        assert "Renamed news" in response.content.decode()


def test_a_process_without_redis_is_told_of_a_change_made_by_one_with_it(client, settings):
    # One database, processes with and without REDIS_URL (a worker not yet restarted with the
    # new environment): this one, without, trusts the version it read until a change is
    # announced through PostgreSQL.
    use_local_memory_page_cache(settings)
    article = make_article("Old title")
    url = article.get_absolute_url()
    content_version.database_version()
    watch = postgres_watch.watch()
    assert watch.wait_until_listening(10)
    for _ in range(20):  # until a hit is served on the version this process trusts
        client.get(url)
        _, token = watch.get()
        if watch.get()[0] is not None:
            break
        watch.remember(content_version.database_version(), token)
    assert client.get(url)[HEADER] == "hit"

    without_redis = {name: getattr(settings, name) for name in ("CACHES", "PAGE_CACHE_VERSION_IN_CACHE", "PAGE_CACHE_LOCAL_ALIAS")}
    use_redis_page_cache(settings, REDIS_DB)  # the save, as the process with REDIS_URL makes it
    article.title = "New title"
    article.save()
    for name, value in without_redis.items():
        setattr(settings, name, value)
    response = client.get(url)
    assert "New title" in response.content.decode(), f"{response[HEADER]}: a page from before a change reported saved"


def test_a_watch_whose_lease_renewal_was_held_up_is_told_of_a_change():
    # A process without REDIS_URL watches PostgreSQL's version. Its lease renewal is held up
    # (a slow commit, a busy server, here a row lock) past its lease's end: a writer with
    # Redis, checking the leases just then, finds none live and does not announce. The
    # renewal then goes through, and the watch trusts again the version it read before the
    # change (its local lease is counted from when the renewal was sent).
    content_changed()  # the version row exists
    watch = postgres_watch.Watch(postgres_watch.connection_params())
    blocker = psycopg2.connect(**postgres_watch.connection_params())
    table = ContentVersionWatch._meta.db_table
    try:
        assert watch.wait_until_listening(10)
        cursor = blocker.cursor()

        def lease():
            cursor.execute(f"SELECT max(lease_until) FROM {table}")
            value = cursor.fetchone()[0]
            blocker.rollback()
            return value

        first = lease()
        while lease() == first:  # a renewal just went through
            time.sleep(0.005)
        cursor.execute(f"SELECT id FROM {table} FOR UPDATE")  # the next renewal (in 0.5 s) waits
        time.sleep(0.35)
        _, token = watch.get()
        old = content_version.database_version()
        watch.remember(old, token)
        assert watch.get()[0] == old
        deadline = time.monotonic() + 3
        while content_version._a_watch_trusts(DEFAULT_DB_ALIAS) and time.monotonic() < deadline:
            time.sleep(0.01)
        content_changed()  # reported saved: every process must have stopped trusting `old`
        new = content_version.database_version()
        assert new != old
        blocker.rollback()  # the held-up renewal goes through
        time.sleep(0.1)
        trusted = watch.get()[0]
        assert trusted in (None, new), "the watch trusts the version from before a change reported saved"
    finally:
        blocker.close()
        watch.close()


def test_a_change_is_not_failed_by_the_lease_check_after_its_version_is_written(monkeypatch):
    # PostgreSQL drops the connection (a restart, a failover, an administrator's
    # pg_terminate_backend) right after the change and its version were written. The change is
    # saved; "the editor must not be told otherwise" (content_version._written_or_logged). The
    # lease check _a_watch_trusts() runs outside _tell_the_database_watches()'s try.
    article = make_article("Old title")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    incr = content_version._incr_and_announce

    def incr_then_the_connection_drops(cache):
        incr(cache)
        killer = psycopg2.connect(**postgres_watch.connection_params())
        killer.autocommit = True
        killer.cursor().execute("SELECT pg_terminate_backend(%s)", [pid])
        killer.close()
        time.sleep(0.1)

    monkeypatch.setattr(content_version, "_incr_and_announce", incr_then_the_connection_drops)
    try:
        # In autocommit, as a script, or a view without ATOMIC_REQUESTS, changes content in bulk
        # (ContentQuerySet.update() calls content_changed() at once). A save() inside atomic()
        # runs the version's write as a robust on_commit hook, which only logs the failure.
        type(article).objects.filter(pk=article.pk).update(title="New title")
    finally:
        connection.close()


def test_a_connection_dropped_before_the_database_write_is_replaced_and_the_version_written(settings, monkeypatch):
    # With Redis the database's first try runs in atomic(), which replaces a broken connection
    # as it fails: the write must still be made, on the new one, and not left to a next round
    # that, after an earlier change gave up on the database, never comes.
    settings.PAGE_CACHE_LISTEN = False
    content_changed()  # the version row exists
    before = _version()
    monkeypatch.setattr(content_version, "_writes_given_up", {"the database"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    killer = psycopg2.connect(**postgres_watch.connection_params())
    killer.autocommit = True
    killer.cursor().execute("SELECT pg_terminate_backend(%s)", [pid])
    killer.close()
    time.sleep(0.2)
    content_changed()  # autocommit, as after raw SQL or a bulk update()
    assert _version() != before, "the database's version was not written: feeds would answer 304 to old copies"


def test_a_shared_version_write_given_up_is_made_in_the_background_once_redis_is_back(client, monkeypatch, caplog):
    # Redis down for longer than VERSION_WRITE_SECONDS while an editor saves, and back with the
    # data it had: the pages stored under the old version must not match again.
    article = make_article("Old title")
    assert client.get("/news/")[HEADER] == "miss"
    assert client.get("/news/")[HEADER] == "hit"
    real_cache = content_version.shared_cache
    redis_down = threading.Event()
    redis_down.set()
    monkeypatch.setattr(content_version, "shared_cache", lambda: UnreachableCache() if redis_down.is_set() else real_cache())
    monkeypatch.setattr(content_version, "VERSION_WRITE_SECONDS", 0)
    monkeypatch.setattr(content_version, "OWED_VERSION_RETRY_SECONDS", 0.05)
    article.title = "New title"
    article.save()
    assert "could not record a content change in the shared cache" in caplog.text
    redis_down.clear()
    deadline = time.monotonic() + 5
    while "recorded a content change in the shared cache again" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    content_version._OwedVersionWrites.stop_all()
    response = client.get("/news/")
    assert response[HEADER] == "miss" and "New title" in response.content.decode()
    assert "recorded a content change in the shared cache again" in caplog.text
