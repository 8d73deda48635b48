"""A deploy that changes what feeds, calendars and sitemaps say reaches clients that ask with
If-Modified-Since alone, as some feed readers and calendar apps do (the ETag already names
the release): their Last-Modified is never earlier than when the running release started
serving (baltmet.release_since).

Each process is played here by the release it runs (`release.current()`), the time it started
and whether it has recorded its release yet; with Redis, also by its own copies of pages.
"""

import json
import threading
import time
from datetime import datetime, timedelta

import pytest
from django.core.cache import caches
from django.db import InterfaceError, connection, connections, transaction
from django.utils import timezone
from django.utils.http import parse_http_date

from baltmet import release, release_since
from baltmet.models import Release
from tests.lock_waits import sessions_waiting_for_a_lock, wait_until_sessions_wait_for_a_lock
from tests.news_factories import make_article, make_event
from tests.redis_for_tests import use_redis_page_cache
from tests.subprocess_env import env_on_the_test_database, run_django_json, run_python, sqlite_site_env

pytestmark = pytest.mark.django_db(transaction=True)

URLS = ["/news/feed/", "/events/calendar.ics", "/events/conference.ics", "/sitemap.xml", "/sitemap-news.xml"]


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0


@pytest.fixture
def redis_page_cache(settings):
    cache = use_redis_page_cache(settings, 9)
    yield cache
    cache.close()


@pytest.fixture
def processes(monkeypatch, settings):
    """`start(name)`: from now on requests are answered by a new process of release `name`,
    started at the current time; the clock then moves on a few seconds."""
    clock = {"now": timezone.now()}
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])

    def start(name, record=True):
        monkeypatch.setattr(release, "current", lambda: name)
        monkeypatch.setattr(release_since, "started", clock["now"])
        monkeypatch.setattr(release_since, "_recorded", None)
        monkeypatch.setattr(release_since, "_failed_at", None)
        if "pages-local" in settings.CACHES:
            caches["pages-local"].clear()  # a process's own copies of Redis's pages
        if record:
            release_since.serving_since()  # as baltmet.wsgi does
        clock["now"] += timedelta(seconds=5)

    def later(**duration):
        clock["now"] += timedelta(**duration)

    start.later = later
    return start


@pytest.fixture
def content(processes):
    processes.later(days=-1)
    make_article("Cluster news", publish_at=timezone.now() - timedelta(days=2))
    make_event("Conference", slug="conference")
    processes.later(days=1)


def _modified_since(client, url, last_modified):
    return client.get(url, headers={"If-Modified-Since": last_modified}).status_code


@pytest.mark.parametrize("url", URLS)
def test_a_new_release_answers_if_modified_since_from_the_release_before_in_full(client, content, processes, url):
    processes("release-one")
    before = client.get(url)["Last-Modified"]
    assert _modified_since(client, url, before) == 304

    processes("release-two")
    response = client.get(url, headers={"If-Modified-Since": before})
    assert response.status_code == 200
    assert response["Last-Modified"] != before
    assert _modified_since(client, url, response["Last-Modified"]) == 304


def test_restarting_the_same_release_sends_no_client_the_file_again(client, content, processes):
    processes("release-one")
    before = client.get("/news/feed/")["Last-Modified"]
    processes("release-one")
    processes.later(hours=1)
    assert _modified_since(client, "/news/feed/", before) == 304


def test_every_process_of_a_release_sends_the_time_the_first_one_recorded(client, content, processes):
    processes("release-one")
    first = client.get("/news/feed/")["Last-Modified"]
    processes("release-two")
    second = client.get("/news/feed/")["Last-Modified"]
    processes("release-two")
    assert client.get("/news/feed/")["Last-Modified"] == second != first


def test_a_rollback_answers_if_modified_since_from_the_later_release_in_full(client, content, processes):
    processes("release-one")
    client.get("/news/feed/")
    processes("release-two")
    from_two = client.get("/news/feed/")["Last-Modified"]
    processes("release-one")
    assert _modified_since(client, "/news/feed/", from_two) == 200


@pytest.mark.parametrize("url", ["/news/feed/", "/sitemap.xml"])
def test_a_rollback_never_answers_with_pages_stored_before_the_release_it_rolled_back(
    redis_page_cache, client, content, processes, url
):
    # Redis keeps pages past the processes that made them.
    processes("release-one")
    stored = client.get(url)
    assert client.get(url)["X-Page-Cache"] == "hit"
    processes("release-two")
    from_two = client.get(url)["Last-Modified"]
    processes.later(minutes=10)
    processes("release-one")
    response = client.get(url, headers={"If-Modified-Since": from_two})
    assert response.status_code == 200
    assert response["Last-Modified"] != stored["Last-Modified"]


def test_a_process_that_could_not_record_its_release_serves_the_pages_stored(
    redis_page_cache, client, content, processes, monkeypatch, django_assert_num_queries
):
    processes("release-one")
    client.get("/news/")
    # Another process, started while the database was down.
    processes("release-one", record=False)
    monkeypatch.setattr(release_since, "_failed_at", time.monotonic())
    with django_assert_num_queries(0):
        response = client.get("/news/")
    assert response["X-Page-Cache"] == "hit"


def _two_times_of_release_two(processes):
    """The times two processes of release two record, when a worker of release one restarts
    between them during the deploy."""
    processes("release-one")
    processes("release-two")
    first_of_two = release_since.known()
    processes("release-one")
    processes("release-two")
    later_of_two = release_since.known()
    assert later_of_two > first_of_two
    return first_of_two, later_of_two


def test_a_process_that_recorded_an_earlier_time_follows_the_later_one_of_its_release(
    client, content, processes, monkeypatch
):
    first_of_two, later_of_two = _two_times_of_release_two(processes)
    monkeypatch.setattr(release_since, "_recorded", ("release-two", first_of_two))  # the first one again
    assert parse_http_date(client.get("/news/feed/")["Last-Modified"]) == int(later_of_two.timestamp())
    assert release_since.known() == later_of_two, "its pages are to be as recent"


def test_any_database_error_recording_the_release_is_logged_not_raised(content, processes, monkeypatch, caplog):
    def lost(*args):
        raise InterfaceError("connection already closed")

    processes("release-one", record=False)
    monkeypatch.setattr(release_since, "_record", lost)
    assert release_since.serving_since() is None
    assert "could not be recorded" in caplog.text


def test_two_processes_of_a_release_recording_it_at_once_agree_on_its_time(content, processes):
    processes("release-one")
    release_since.serving_since()
    first_start, second_start = timezone.now(), timezone.now() + timedelta(seconds=1)
    inserted, commit, found = threading.Event(), threading.Event(), {}

    def first():
        with transaction.atomic():
            found["first"] = release_since._record("release-two", first_start, connections["default"])
            inserted.set()
            commit.wait(10)
        connections.close_all()

    def second():
        inserted.wait(10)
        found["second"] = release_since._record("release-two", second_start, connections["default"])
        connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    # The second waits for the first's row, which it reads once the first commits.
    wait_until_sessions_wait_for_a_lock(timeout=10)
    assert sessions_waiting_for_a_lock() == 1
    commit.set()
    for thread in threads:
        thread.join(10)
    assert found == {"first": first_start, "second": first_start}
    assert Release.objects.get(digest="release-two").serving_since == first_start


def test_a_thread_never_moves_the_release_back_to_an_earlier_time_another_took(monkeypatch):
    # release_since.latest(): "threads: never back to an earlier time another one took"; the
    # other thread is played by the lock, taken after it moved the process on (review r29d).
    monkeypatch.setattr(release_since, "_failed_at", None)
    own = timezone.now() - timedelta(hours=1)
    monkeypatch.setattr(release_since, "_recorded", (release.current(), own))
    earlier, later = own + timedelta(minutes=1), own + timedelta(minutes=2)

    class AnotherThreadFirst:
        def __enter__(self):
            release_since._recorded = (release.current(), later)

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(release_since, "_moving_on", AnotherThreadFirst())
    release_since.latest(earlier)
    assert release_since.known() == later


def test_a_release_recorded_inside_a_transaction_rolled_back_is_recorded_again(content, processes):
    processes("release-one")
    release_since.serving_since()
    processes("release-two")
    release_since.serving_since()
    processes("release-one", record=False)
    with pytest.raises(RuntimeError), transaction.atomic():
        moved = release_since.serving_since()
        raise RuntimeError("rolled back")
    assert release_since.serving_since() == moved
    assert Release.objects.get(digest="release-one").serving_since == moved


def test_where_the_release_cannot_be_recorded_the_file_is_still_served_and_it_is_tried_again_later(
    client, content, processes, caplog, monkeypatch, django_assert_num_queries
):
    # As with a database that refuses writes.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE baltmet_release ADD CONSTRAINT refused CHECK (false) NOT VALID")
    try:
        processes("release-one", record=False)
        response = client.get("/news/feed/")
        assert response.status_code == 200
        assert "could not be recorded" in caplog.text
        with django_assert_num_queries(0):
            assert release_since.serving_since() is None  # not at every request
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE baltmet_release DROP CONSTRAINT refused")
    monkeypatch.setattr(release_since, "RETRY_SECONDS", 0)
    client.get("/news/feed/")
    assert Release.objects.filter(digest="release-one").exists()


def test_a_failure_to_record_inside_a_transaction_leaves_the_transaction_usable(content, processes):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE baltmet_release ADD CONSTRAINT refused CHECK (false) NOT VALID")
    try:
        with transaction.atomic():
            processes("release-one", record=False)
            assert release_since.serving_since() is None
            assert Release.objects.count() == 0
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE baltmet_release DROP CONSTRAINT refused")


def test_a_release_never_moves_back_in_time(content, processes, monkeypatch):
    processes("release-one")
    one = release_since.known()
    processes("release-two")
    # A process of release one that started before the one that recorded it.
    processes("release-one", record=False)
    monkeypatch.setattr(release_since, "started", one - timedelta(minutes=1))
    assert release_since.serving_since() == one


def test_a_release_of_one_process_alone_is_not_recorded(content, processes):
    processes(f"process-{'0' * 32}")
    assert release_since.serving_since() == release_since.started
    assert not Release.objects.exists()


def test_a_304_still_runs_one_query_once_the_release_is_recorded(client, content, processes, django_assert_num_queries):
    processes("release-one")
    first = client.get("/news/feed/")
    with django_assert_num_queries(1):
        assert _modified_since(client, "/news/feed/", first["Last-Modified"]) == 304


@pytest.mark.parametrize("server", ["wsgi", "asgi"])
def test_a_server_process_records_its_release_as_it_starts(tmp_path, server):
    code = (
        f"import json, baltmet.{server}\n"
        "from django.db import connection\n"
        "from baltmet import release, release_since\n"
        "print(json.dumps([release.current(), release_since.started.isoformat(), connection.connection is not None]))"
    )
    child = run_python(code, env_on_the_test_database(MEDIA_ROOT=str(tmp_path)))
    assert child.returncode == 0, child.stderr
    digest, started, connected = json.loads(child.stdout.splitlines()[-1])
    assert Release.objects.get(digest=digest).serving_since == datetime.fromisoformat(started)
    assert not connected, "a server forking after loading (gunicorn --preload) would share the connection"


def test_on_sqlite_too_a_new_release_answers_if_modified_since_in_full(tmp_path):
    # As `make run` serves by default: the recording statement is written for both databases.
    body = """
import time
from django.test import Client
from django.utils import timezone
from baltmet import release, release_since
time.sleep(1.1)  # the seed's second over: its Last-Modified is sent
first = Client().get('/news/feed/')
release.current = lambda: 'release-two'
release_since.started = timezone.now()
time.sleep(1.1)
again = Client().get('/news/feed/', headers={'If-Modified-Since': first['Last-Modified']})
print(json.dumps([first.status_code, again.status_code, first['Last-Modified'], again.get('Last-Modified')]))
"""
    first, again, before, after = run_django_json(body, sqlite_site_env(tmp_path, "regions_seed", "news_seed"))
    assert (first, again) == (200, 200)
    assert parse_http_date(after) > parse_http_date(before)


def test_a_feed_made_inside_a_transaction_leaves_what_the_process_remembers(content, processes, monkeypatch):
    first_of_two, later_of_two = _two_times_of_release_two(processes)
    monkeypatch.setattr(release_since, "_recorded", ("release-two", first_of_two))
    with transaction.atomic():
        assert release_since.latest(later_of_two) == later_of_two
    assert release_since.known() == first_of_two, "the row read may yet be rolled back"
