"""A Redis that stops answering (a host gone, a network that drops packets without a reset, a
paused server) costs a request at most the Redis timeout (DJANGO_REDIS_TIMEOUT), never a hang:
pages are served uncached and saves return, with the failure logged. After a failure a
process leaves the shared cache alone for a moment, so that not every request pays the wait.

Redis is reached through a TCP proxy that can go silent (tests/tcp_proxy.py), which is what a
lost host looks like to a client: no error, no answer. Needs the tests' Redis (see
tests/redis_for_tests.py)."""

import contextlib
import re
import signal
import socket
import threading
import time
import urllib.parse

import pytest
import redis

from baltmet import cache_failures, content_version, page_cache, renditions
from news.models import Article
from tests.news_factories import make_article
from tests.redis_for_tests import UnreachableCache, redis_server_of_its_own, redis_url, use_redis_page_cache
from tests.subprocess_env import free_port
from tests.tcp_proxy import Proxy
from tests.upload_files import image_bytes, upload

REDIS_DB = 8
# What the tests give Redis to answer, and what a request or save may take at most when it
# does not: the timeout, with room to spare on a busy machine.
TIMEOUT_SECONDS = 0.3
DEADLINE_SECONDS = 5


class Hung(BaseException):
    """Not an Exception: the code under test rightly catches those where Redis fails."""


@contextlib.contextmanager
def deadline(seconds=DEADLINE_SECONDS):
    """Raises Hung in the block once `seconds` have passed, so that a request that would wait
    forever fails the test instead of hanging the run."""

    def alarm(signum, frame):
        raise Hung(f"still waiting after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def proxy():
    target = urllib.parse.urlsplit(redis_url(REDIS_DB))
    found = Proxy((target.hostname, target.port or 6379))
    yield found
    found.close()


@pytest.fixture
def redis_behind_proxy(transactional_db, settings, proxy):
    """The page cache on the tests' Redis, reached through `proxy`, with TIMEOUT_SECONDS."""
    cache = use_redis_page_cache(
        settings,
        REDIS_DB,
        location=f"redis://127.0.0.1:{proxy.port}/{REDIS_DB}",
        timeout=TIMEOUT_SECONDS,
    )
    yield cache
    cache.watch(content_version.VERSION_KEY).close()
    cache.close()


def test_a_page_is_served_uncached_when_redis_stops_answering(redis_behind_proxy, proxy, client, caplog):
    cached = make_article("Cached before the outage")
    client.get(cached.get_absolute_url())
    assert client.get(cached.get_absolute_url())["X-Page-Cache"] == "hit"
    later = make_article("Written before the outage, read during it")

    proxy.cut()
    with deadline():
        response = client.get(later.get_absolute_url())
    assert response.status_code == 200
    assert response["X-Page-Cache"] == "miss"
    assert "Written before the outage, read during it" in response.content.decode()
    assert any("page cache unavailable" in record.getMessage() for record in caplog.records)


def test_a_process_that_cannot_subscribe_to_a_silent_redis_serves_pages(redis_behind_proxy, proxy, client):
    article = make_article("Read by a process started during the outage")
    proxy.cut()
    with deadline():
        response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    assert "Read by a process started during the outage" in response.content.decode()
    assert not redis_behind_proxy.watch(content_version.VERSION_KEY).subscribed


def test_after_a_failure_requests_leave_redis_alone_for_a_moment(redis_behind_proxy, proxy, client, monkeypatch):
    article = make_article("Read while Redis is silent")
    client.get("/")  # subscribed, and the version read: the article is then asked of Redis
    proxy.cut()
    # A moment long enough for a slow machine; its end is shown below.
    monkeypatch.setattr(cache_failures, "REST_SECONDS", 60)
    with deadline():
        assert client.get(article.get_absolute_url()).status_code == 200
    asked = proxy.sent, proxy.accepted
    with deadline():
        for _ in range(5):
            response = client.get(article.get_absolute_url())
            assert response.status_code == 200
            assert "Read while Redis is silent" in response.content.decode()
    assert (proxy.sent, proxy.accepted) == asked, "Redis was asked again at once"

    # Once the moment has passed, Redis is asked again (and still fails, within the timeout).
    monkeypatch.setattr(cache_failures, "REST_SECONDS", 0.01)
    time.sleep(0.02)
    with deadline():
        assert client.get(article.get_absolute_url()).status_code == 200
    assert proxy.sent > asked[0]


def test_a_save_while_redis_stops_answering_returns_and_is_logged(redis_behind_proxy, proxy, caplog, monkeypatch):
    make_article("Before the outage")
    proxy.cut()
    # Each change (the factory makes two) keeps trying this long, then gives up.
    monkeypatch.setattr(content_version, "VERSION_WRITE_SECONDS", 1)
    with deadline():
        make_article("Saved while Redis is silent")
    assert Article.objects.filter(title="Saved while Redis is silent").exists()
    assert any(
        record.levelname == "ERROR" and "could not record a content change" in record.getMessage()
        for record in caplog.records
    )


def test_a_save_while_redis_stalls_for_a_moment_still_reaches_it(redis_behind_proxy, proxy, caplog):
    make_article("Before the stall")
    before = redis_behind_proxy.get(content_version.VERSION_KEY)
    proxy.pause()
    # Longer than a timeout, well within the time a change keeps trying.
    resume = threading.Timer(3 * TIMEOUT_SECONDS, proxy.resume)
    resume.start()
    with deadline():
        make_article("Saved while Redis stalls")
    resume.join()
    assert redis_behind_proxy.get(content_version.VERSION_KEY) > before
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


def test_after_a_change_gave_up_the_next_ones_try_once_until_one_gets_through(redis_behind_proxy, monkeypatch):
    attempts = []
    failing = True

    def incr_and_announce(cache):
        attempts.append(failing)
        if failing:
            raise ConnectionError("Redis is down")

    monkeypatch.setattr(content_version, "_incr_and_announce", incr_and_announce)
    # Redis's tries alone, with room for a second one on a loaded machine (review r29c: the
    # database's write, tried first in each round, could leave it one).
    monkeypatch.setattr(content_version, "_write_waiting_briefly", lambda using: None)
    monkeypatch.setattr(content_version, "VERSION_WRITE_SECONDS", 2)

    def tries_of_one_change():
        attempts.clear()
        content_version.content_changed()
        return len(attempts)

    assert tries_of_one_change() > 1, "a first failure may be a stall: tried again"
    assert tries_of_one_change() == 1, "Redis is down: tried once"
    failing = False
    assert tries_of_one_change() == 1
    failing = True
    assert tries_of_one_change() > 1, "after one got through, tried again for a while"


def test_a_full_redis_that_refuses_to_store_still_serves_what_it_has(redis_behind_proxy, client, monkeypatch):
    stored = make_article("Stored before Redis filled up")
    later = make_article("Made once Redis is full")
    client.get(stored.get_absolute_url())

    def out_of_memory(*args, **kwargs):
        raise redis.exceptions.OutOfMemoryError("command not allowed when used memory > 'maxmemory'")

    monkeypatch.setattr(redis_behind_proxy, "set", out_of_memory)
    assert client.get(later.get_absolute_url())["X-Page-Cache"] == "miss"
    assert not cache_failures.resting("default"), "Redis answered: no reason to leave it alone"
    redis_behind_proxy.watch(content_version.VERSION_KEY).close()  # read from Redis, not this process's copy
    assert client.get(stored.get_absolute_url())["X-Page-Cache"] == "hit"


@pytest.fixture
def small_redis(tmp_path):
    """A redis-server of its own with Redis's default policy when full (noeviction: writes
    that need memory are refused), as a Redis given maxmemory and nothing else is."""
    port = free_port()
    options = ("--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path), "--maxmemory-policy", "noeviction")
    with redis_server_of_its_own(*options, port=port) as client:
        yield f"redis://127.0.0.1:{port}/0", client


def test_a_change_while_redis_is_full_shows_at_once(transactional_db, settings, client, small_redis, caplog, monkeypatch):
    content_version._say_redis_is_full.forget()
    url, raw = small_redis
    cache = use_redis_page_cache(settings, 0, location=url)
    try:
        article = make_article("Before Redis filled up")
        client.get(article.get_absolute_url())
        assert client.get(article.get_absolute_url())["X-Page-Cache"] == "hit"
        # Visitors asking for many addresses have filled it with pages: it holds more than
        # its maxmemory (made smaller than what it holds, to be sure), and refuses writes.
        for number in range(50):
            raw.set(f"filler:{number}", b"x" * 20_000)
        raw.config_set("maxmemory", raw.info("memory")["used_memory"] // 2)
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            raw.incr("a-counter-of-its-own")  # a full Redis refuses even INCR

        with deadline():
            Article.objects.filter(pk=article.pk).update(title="Edited while Redis is full")
        for _ in range(20):
            response = client.get(article.get_absolute_url())
            assert "Edited while Redis is full" in response.content.decode(), response["X-Page-Cache"]
        # Said, but not once per request of the rush that filled it.
        said = [record for record in caplog.records if record.name.startswith("baltmet")]
        assert "Redis is full" in said[0].getMessage()
        assert len(said) <= 2, [record.getMessage() for record in said]
    finally:
        cache.watch(content_version.VERSION_KEY).close()
        cache.close()


def test_a_page_that_found_redis_unreachable_while_it_was_made_is_not_stored(redis_behind_proxy, client, monkeypatch):
    make_article("With a photo", image=upload("photo.jpg", image_bytes("JPEG", (800, 400)), "image/jpeg"), image_alt="A photo")

    # The page's renditions find Redis gone after the page cache looked the page up in it.
    monkeypatch.setattr(renditions, "cache", UnreachableCache())
    set_in_redis = redis_behind_proxy.set
    stored_pages = []

    def set_counting_pages(key, *args, **kwargs):
        if key.startswith(f"{page_cache._KEY_PREFIX}:"):
            stored_pages.append(key)
        return set_in_redis(key, *args, **kwargs)

    monkeypatch.setattr(redis_behind_proxy, "set", set_counting_pages)
    response = client.get("/news/")  # a listing: its teasers show renditions
    assert response.status_code == 200 and re.search(r"-320w\.[0-9a-f]{12}\.jpg", response.content.decode())
    assert stored_pages == [], "a second wait for the same Redis"


def test_the_quiet_subscription_to_the_version_sends_tcp_keepalives(redis_behind_proxy, client):
    client.get("/")
    watch = redis_behind_proxy.watch(content_version.VERSION_KEY)
    assert watch.subscribed
    sock = watch._connection._sock
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30
