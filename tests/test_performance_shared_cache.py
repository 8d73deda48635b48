"""Two app servers sharing one Redis and one PostgreSQL, as behind a load balancer: a page one
of them cached is served by the other, and an edit made through one is seen through the other
on the very next request.

With REDIS_URL set, the content version lives in Redis too, next to the pages
(baltmet.content_version), so these servers also show that a version changed through one is the
version the other checks. Without Redis, each server has its own copies, and an edit through
one reaches the other through PostgreSQL (baltmet.postgres_watch). Needs a Redis: `make test` starts one
(scripts/ensure-test-services.sh) and sets REDIS_TEST_URL. Without a reachable Redis this
test fails; it is never skipped.
"""

import http.cookiejar
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import ExitStack

import pytest
import redis
from django.db import transaction
from django.utils import timezone

from baltmet import content_version
from news.models import Article
from tests.news_factories import make_article
from tests.redis_for_tests import make_the_page_cache_unreachable, redis_url, unique_key_prefix, use_redis_page_cache
from tests.subprocess_env import gunicorn, production_env

# The Redis database these tests use.
REDIS_DB = 7


class Browser:
    """urllib with cookies, for one app server. Every request names the same host, as requests
    through a load balancer do (pages are cached per address, host included)."""

    def __init__(self, base):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(self, path, data=None):
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers={"Host": "localhost"})
        try:
            with self.opener.open(request, timeout=20) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    def csrf_token(self, html):
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


@pytest.fixture(params=["redis", "local memory"])
def two_servers(request, transactional_db, tmp_path):
    """Two servers, sharing Redis, or each with its own local-memory cache and a watch of the
    content version in PostgreSQL (baltmet.postgres_watch). Yields their URLs, the Redis URL
    (None without Redis) and the servers' cache key prefix in it."""
    url = redis_url(REDIS_DB) if request.param == "redis" else None
    prefix = unique_key_prefix()
    extra = {"REDIS_URL": url, "DJANGO_CACHE_KEY_PREFIX": prefix} if url else {}
    env = production_env(tmp_path, **extra)
    with ExitStack() as servers:
        yield [servers.enter_context(gunicorn(env, app="tests.wsgi_trusting_long:application")) for _ in range(2)], url, prefix


@pytest.fixture
def editor_account(django_user_model, settings):
    """A superuser whose password the servers can check: they run the production settings,
    whose hashers do not include the tests' fast MD5."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    django_user_model.objects.create_user("editor", password="correct-horse-battery", is_staff=True, is_superuser=True)
    return {"username": "editor", "password": "correct-horse-battery"}


def test_an_edit_through_one_server_is_seen_through_the_other_at_once(two_servers, editor_account):
    (base_a, base_b), url, prefix = two_servers
    article = make_article("Shared harbour news", lead="A lead.", body="<p>Body.</p>")
    visitor_a, visitor_b = Browser(base_a), Browser(base_b)
    path = article.get_absolute_url()

    status, headers, html = visitor_a.request(path)
    assert status == 200 and headers["X-Page-Cache"] == "miss"
    assert "Shared harbour news" in html
    if url:
        assert visitor_a.request(path)[1]["X-Page-Cache"] == "hit"
        assert visitor_b.request(path)[1]["X-Page-Cache"] == "hit", "B serves the page A stored"
        assert visitor_a.request("/")[1]["X-Page-Cache"] == "miss"
        # The page server A stored is in the shared Redis.
        # (Their own: other runs, and make test's other workers, share this Redis database.)
        assert redis.Redis.from_url(url).keys(f"{prefix}:*page:*")
    # Each server serves its own copies (once it has made or fetched them), trusting the
    # version it read: while nothing changes, as many times as a visitor may ask.
    for visitor in (visitor_a, visitor_b):
        for page in (path, "/"):
            visitor.request(page)
    for _ in range(5):
        for visitor in (visitor_a, visitor_b):
            for page in (path, "/"):
                assert visitor.request(page)[1]["X-Page-Cache"] == "hit"

    # An editor signs in on server B and changes the title in the admin.
    editor = Browser(base_b)
    _, _, login_page = editor.request("/admin/login/?next=/admin/")
    status, _, _ = editor.request(
        "/admin/login/?next=/admin/",
        {**editor_account, "csrfmiddlewaretoken": editor.csrf_token(login_page)},
    )
    assert status == 200 and any(cookie.name == "sessionid" for cookie in editor.cookies)
    change_path = f"/admin/news/article/{article.pk}/change/"
    _, _, form = editor.request(change_path)
    publish_at = timezone.localtime(article.publish_at)
    status, _, after = editor.request(
        change_path,
        {
            "csrfmiddlewaretoken": editor.csrf_token(form),
            "title": "Edited through server B",
            "slug": article.slug,
            "lead": "A lead.",
            "body": "<p>Body.</p>",
            "image_alt": "",
            "status": "published",
            "publish_at_0": publish_at.strftime("%Y-%m-%d"),
            "publish_at_1": publish_at.strftime("%H:%M:%S"),
            "_save": "Save",
        },
    )
    assert status == 200 and "was changed successfully" in after, after[:3000]

    # The very next request through server A shows it, and so does B's own cache.
    for visitor in (visitor_a, visitor_b):
        for page in (path, "/"):
            status, headers, html = visitor.request(page)
            assert status == 200
            assert "Edited through server B" in html and "Shared harbour news" not in html
    if url:
        # Pages made after the edit are shared again: B serves what A stored.
        visitor_a.request("/news/")
        assert visitor_b.request("/news/")[1]["X-Page-Cache"] == "hit"


def test_a_change_made_without_redis_is_seen_through_both_servers_within_a_second(two_servers):
    # This process has no REDIS_URL: its change moves the database's version alone, as a cron
    # job's or an operator's shell's would (review r30b). Without Redis the servers hear of
    # it from PostgreSQL at once; with Redis the first request a second or more after a
    # server's last read of the database starts a check there (DJANGO_PAGE_CACHE_DATABASE_CHECK_SECONDS),
    # which, done, moves the version in Redis that both servers watch.
    (base_a, base_b), url, _ = two_servers
    article = make_article("Harbour news")
    visitors = [Browser(base_a), Browser(base_b)]
    path = article.get_absolute_url()
    for _ in range(3):
        for visitor in visitors:
            visitor.request(path)
    assert [visitor.request(path)[1]["X-Page-Cache"] for visitor in visitors] == ["hit", "hit"]

    Article.objects.filter(pk=article.pk).update(title="Changed without Redis")
    if url:
        time.sleep(1.1)
        visitors[0].request(path)  # starts a check on server A, which does not wait for it
        deadline = time.monotonic() + 10
        while "Changed without Redis" not in visitors[1].request(path)[2] and time.monotonic() < deadline:
            time.sleep(0.05)
    for visitor in visitors:
        status, _, html = visitor.request(path)
        assert status == 200 and "Changed without Redis" in html and ">Harbour news<" not in html


# --- The content version in Redis, in this process ----------------------------------------


@pytest.fixture
def redis_page_cache(transactional_db, settings):
    return use_redis_page_cache(settings, REDIS_DB)


def _shared_version(cache):
    return cache.get(content_version.VERSION_KEY)


def test_the_version_in_redis_changes_once_at_commit_and_not_on_rollback(redis_page_cache):
    make_article("Seed")
    before = _shared_version(redis_page_cache)
    with transaction.atomic():
        make_article("One")
        make_article("Two")
        assert _shared_version(redis_page_cache) == before, "not before the commit"
    assert _shared_version(redis_page_cache) == before + 1
    with pytest.raises(RuntimeError), transaction.atomic():
        make_article("Rolled back")
        raise RuntimeError
    assert _shared_version(redis_page_cache) == before + 1


def test_a_lost_version_never_brings_back_an_old_page(redis_page_cache, client):
    article = make_article("Before the restart")
    client.get(article.get_absolute_url())
    assert client.get(article.get_absolute_url())["X-Page-Cache"] == "hit"
    # Redis restarted or evicted the version, but (say) kept the page; then an edit, whose
    # INCR finds no version and starts a new one.
    redis_page_cache.delete(content_version.VERSION_KEY)
    Article.objects.filter(pk=article.pk).update(title="After the restart")
    response = client.get(article.get_absolute_url())
    assert response["X-Page-Cache"] == "miss"
    assert "After the restart" in response.content.decode()
    # A version lost with no edit after it, seen by a process that has not read the version
    # yet (this one forgets what it read): the page is made again, not trusted.
    redis_page_cache.delete(content_version.VERSION_KEY)
    redis_page_cache.watch(content_version.VERSION_KEY).close()
    assert client.get(article.get_absolute_url())["X-Page-Cache"] == "miss"
    assert client.get(article.get_absolute_url())["X-Page-Cache"] == "hit"


def test_a_change_redis_cannot_record_is_logged_as_an_error(redis_page_cache, monkeypatch, caplog):
    make_the_page_cache_unreachable(monkeypatch)
    make_article("Saved while Redis is down")
    assert Article.objects.filter(title="Saved while Redis is down").exists(), "the change itself is kept"
    assert any(
        record.levelname == "ERROR" and "could not record a content change" in record.getMessage()
        for record in caplog.records
    )
