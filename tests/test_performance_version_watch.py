"""With Redis, each process serves its own copies of pages without asking Redis while the
content version it watches there is unchanged (baltmet.redis_watch, baltmet.content_version), and
asks again as soon as a change is announced or its watch is lost.

Uses the tests' Redis (tests/redis_for_tests.py); without one these tests fail, never skip.
"""

import threading
import time
import uuid

import pytest
import redis
from django.core.cache import caches
from django.db import connection
from django.test import Client

from baltmet import content_version, redis_watch
from baltmet.page_cache import HEADER
from tests.news_factories import make_article
from tests.redis_for_tests import redis_url, use_redis_page_cache

REDIS_DB = 9


@pytest.fixture
def shared_cache(transactional_db, settings):
    return use_redis_page_cache(settings, REDIS_DB)


@pytest.fixture
def redis_calls(shared_cache, monkeypatch):
    """The names of the cache operations that went to Redis. The version read is trusted for
    the whole test, however slow the machine (it is read again every TRUST_SECONDS)."""
    monkeypatch.setattr(redis_watch, "TRUST_SECONDS", 3600)
    calls = []

    def recording(name):
        original = getattr(shared_cache, name)

        def call(*args, **kwargs):
            calls.append(name)
            return original(*args, **kwargs)

        return call

    for name in ("get", "get_many"):
        monkeypatch.setattr(shared_cache, name, recording(name))
    return calls


def _other_process_changes_the_version(shared_cache, announce):
    """What another server's change does to Redis: INCR the version (and announce it)."""
    client = redis.Redis.from_url(redis_url(REDIS_DB))
    key = shared_cache.make_and_validate_key(content_version.VERSION_KEY)
    client.incr(key)
    if announce:
        redis_watch.announce(client, key)


def test_a_hit_asks_redis_nothing_while_no_change_was_announced(shared_cache, redis_calls, client):
    article = make_article("Harbour news")
    assert client.get(article.get_absolute_url())[HEADER] == "miss"
    redis_calls.clear()
    for _ in range(3):
        response = client.get(article.get_absolute_url())
        assert response[HEADER] == "hit" and "Harbour news" in response.content.decode()
    assert redis_calls == []


def test_a_page_another_process_stored_is_kept_here_after_one_round_trip(shared_cache, redis_calls, client):
    article = make_article("Made elsewhere")
    client.get(article.get_absolute_url())
    # As if another server had made the page: this process has no copy of its own.
    caches["pages-local"].clear()
    redis_calls.clear()
    assert client.get(article.get_absolute_url())[HEADER] == "hit"
    assert redis_calls == ["get_many"]
    assert client.get(article.get_absolute_url())[HEADER] == "hit"
    assert redis_calls == ["get_many"], "the second hit comes from this process's copy"


def _changed_by_another_process(article, title):
    """The row changed as another server's save changes it: with no signal in this process."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE news_article SET title = %s WHERE id = %s", [title, article.pk])


def test_a_change_announced_by_another_process_shows_on_the_next_request(shared_cache, client):
    article = make_article("Before")
    client.get(article.get_absolute_url())
    assert client.get(article.get_absolute_url())[HEADER] == "hit"
    _changed_by_another_process(article, "After")
    _other_process_changes_the_version(shared_cache, announce=True)
    response = client.get(article.get_absolute_url())
    assert response[HEADER] == "miss" and "After" in response.content.decode()
    assert client.get(article.get_absolute_url())[HEADER] == "hit"


def _kill_subscription(watch):
    """CLIENT KILL for this watch's connection only (other test runs may share the Redis)."""
    host, port = watch._connection._sock.getsockname()[:2]
    assert redis.Redis.from_url(redis_url(REDIS_DB)).client_kill_filter(_type="pubsub", addr=f"{host}:{port}") == 1


def test_a_lost_watch_makes_the_next_request_ask_redis(shared_cache, client):
    article = make_article("Before")
    client.get(article.get_absolute_url())
    assert client.get(article.get_absolute_url())[HEADER] == "hit"
    # Redis drops this process's subscription (restarted, or the connection broke), and the
    # version changes meanwhile with nobody left to hear of it.
    _kill_subscription(shared_cache.watch(content_version.VERSION_KEY))
    _changed_by_another_process(article, "After")
    _other_process_changes_the_version(shared_cache, announce=False)
    response = client.get(article.get_absolute_url())
    assert response[HEADER] == "miss" and "After" in response.content.decode()
    # Subscribed again: hits need no round trip once more.
    assert client.get(article.get_absolute_url())[HEADER] == "hit"


def _page_and_version_keys(shared_cache):
    raw = redis.Redis.from_url(redis_url(REDIS_DB))
    return raw, [shared_cache.make_and_validate_key(content_version.VERSION_KEY), *raw.keys(shared_cache.make_and_validate_key("page:*"))]


def test_a_redis_come_back_with_old_data_never_brings_back_an_old_page(shared_cache, client, monkeypatch):
    article = make_article("Old title")
    _old_data_restored_after_an_edit(shared_cache, client, article)
    # That Redis is a new server process, and this process's subscription was closed with the old.
    monkeypatch.setattr(type(shared_cache), "server_run_id", lambda cache: "a-new-server-process")
    _kill_subscription(shared_cache.watch(content_version.VERSION_KEY))
    response = client.get(article.get_absolute_url())
    assert response[HEADER] == "miss" and "New title" in response.content.decode()
    assert client.get(article.get_absolute_url())[HEADER] == "hit"


def _old_data_restored_after_an_edit(shared_cache, client, article):
    """Stores the article's page, edits it, then puts back the version and page keys as they
    were before the edit, as a Redis restoring a snapshot (or a lagging replica) would."""
    url = article.get_absolute_url()
    client.get(url)
    assert client.get(url)[HEADER] == "hit"
    raw, keys = _page_and_version_keys(shared_cache)
    snapshot = {key: raw.dump(key) for key in keys}
    article.title = "New title"
    article.save()
    assert "New title" in client.get(url).content.decode()
    for key, dumped in snapshot.items():
        raw.restore(key, 0, dumped, replace=True)
    caches["pages-local"].clear()  # as in a process that kept no copy of its own


def test_the_server_is_checked_again_every_trust_seconds(shared_cache, client, monkeypatch):
    article = make_article("Old title")
    _old_data_restored_after_an_edit(shared_cache, client, article)
    # A replica took over behind the same address, and this process's subscription was not
    # closed (its host is gone): only the time tells.
    monkeypatch.setattr(type(shared_cache), "server_run_id", lambda cache: "a-new-server-process")
    later = time.monotonic() + redis_watch.TRUST_SECONDS + 1
    monkeypatch.setattr(redis_watch.time, "monotonic", lambda: later)
    response = client.get(article.get_absolute_url())
    assert response[HEADER] == "miss" and "New title" in response.content.decode()


def test_every_thread_checks_a_new_subscription_until_one_has(shared_cache, client, monkeypatch):
    article = make_article("Old title")
    _old_data_restored_after_an_edit(shared_cache, client, article)
    monkeypatch.setattr(type(shared_cache), "server_run_id", lambda cache: "a-new-server-process")
    _kill_subscription(shared_cache.watch(content_version.VERSION_KEY))
    checking, go_on, checks = threading.Event(), threading.Event(), []
    check = content_version._restart_shared_version_after_a_new_redis

    def first_check_is_slow(cache, new_subscription):
        checks.append(1)
        if len(checks) == 1:
            checking.set()
            go_on.wait(5)
        return check(cache, new_subscription)

    monkeypatch.setattr(content_version, "_restart_shared_version_after_a_new_redis", first_check_is_slow)
    responses = {}

    def first_request():
        try:
            responses["first"] = Client().get(article.get_absolute_url())
        finally:
            connection.close()

    thread = threading.Thread(target=first_request)
    thread.start()
    assert checking.wait(5)
    # Another thread of the process, while the first still checks Redis: it checks too.
    second = Client().get(article.get_absolute_url())
    go_on.set()
    thread.join()
    assert "New title" in second.content.decode() and "New title" in responses["first"].content.decode()
    assert len(checks) == 2


def test_a_subscription_lost_to_the_same_redis_keeps_the_pages(shared_cache, client):
    article = make_article("Kept")
    client.get(article.get_absolute_url())
    version = shared_cache.get(content_version.VERSION_KEY)
    _kill_subscription(shared_cache.watch(content_version.VERSION_KEY))
    assert client.get(article.get_absolute_url())[HEADER] == "hit"
    assert shared_cache.get(content_version.VERSION_KEY) == version


def test_where_redis_refuses_info_every_new_subscription_starts_a_new_version(shared_cache, client, monkeypatch):
    monkeypatch.setattr(type(shared_cache), "server_run_id", lambda cache: None)
    article = make_article("Unsure")
    client.get(article.get_absolute_url())
    version = shared_cache.get(content_version.VERSION_KEY)
    _kill_subscription(shared_cache.watch(content_version.VERSION_KEY))
    assert client.get(article.get_absolute_url())[HEADER] == "miss"
    assert shared_cache.get(content_version.VERSION_KEY) > version
    assert client.get(article.get_absolute_url())[HEADER] == "hit"
    # The check every TRUST_SECONDS cannot tell servers apart either, and keeps the pages.
    version = shared_cache.get(content_version.VERSION_KEY)
    later = time.monotonic() + redis_watch.TRUST_SECONDS + 1
    monkeypatch.setattr(redis_watch.time, "monotonic", lambda: later)
    assert client.get(article.get_absolute_url())[HEADER] == "hit"
    assert shared_cache.get(content_version.VERSION_KEY) == version


def test_nothing_is_read_from_redis_while_the_watch_cannot_subscribe(shared_cache, client, monkeypatch, caplog):
    article = make_article("Watched")
    client.get(article.get_absolute_url())
    watch = shared_cache.watch(content_version.VERSION_KEY)
    nowhere = redis.ConnectionPool.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    monkeypatch.setattr(watch, "_make_connection", lambda: nowhere.connection_class(**nowhere.connection_kwargs))
    _kill_subscription(watch)
    response = client.get(article.get_absolute_url())
    assert response.status_code == 200 and response[HEADER] == "miss"
    assert "no subscription to the page cache's version in Redis" in caplog.text


# --- The watch itself -------------------------------------------------------------------


@pytest.fixture
def watch():
    pool = redis.ConnectionPool.from_url(redis_url(REDIS_DB))
    channel = f"test-watch-{uuid.uuid4().hex}"
    found = redis_watch.Watch(lambda: pool.connection_class(**pool.connection_kwargs), channel)
    yield found, redis.Redis(connection_pool=pool), channel
    found.close()


def test_the_watch_keeps_a_value_until_a_change_is_announced(watch):
    found, client, channel = watch
    value, token = found.get()
    assert value is None, "nothing is known before the first read"
    found.remember(41, token)
    assert found.get()[0] == 41
    redis_watch.announce(client, channel)
    assert found.get()[0] is None


def test_the_watch_reads_the_value_again_after_a_while_without_announcements(watch, monkeypatch):
    found, client, channel = watch
    _, token = found.get()
    found.remember(41, token)
    assert found.get()[0] == 41
    later = time.monotonic() + redis_watch.TRUST_SECONDS
    monkeypatch.setattr(redis_watch.time, "monotonic", lambda: later)
    assert found.get()[0] is None


def test_a_value_read_before_an_announcement_is_not_remembered_after_it(watch):
    found, client, channel = watch
    _, token = found.get()
    # Another thread hears of a change while this one's read of the old value is on its way.
    redis_watch.announce(client, channel)
    _, newer_token = found.get()
    found.remember("old", token)
    assert found.get()[0] is None
    found.remember("new", newer_token)
    assert found.get()[0] == "new"


def test_a_watch_that_cannot_subscribe_knows_nothing_and_retries_later(monkeypatch):
    pool = redis.ConnectionPool.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    attempts = []

    def make_connection():
        attempts.append(1)
        return pool.connection_class(**pool.connection_kwargs)

    found = redis_watch.Watch(make_connection, "nowhere")
    value, token = found.get()
    found.remember(1, token)
    assert found.get()[0] is None
    assert len(attempts) == 1, "not again on every request"
    later = time.monotonic() + redis_watch.RETRY_SECONDS + 1
    monkeypatch.setattr(redis_watch.time, "monotonic", lambda: later)
    found.get()
    assert len(attempts) == 2
