"""A deploy that changes what feeds, calendars and sitemaps say reaches clients that ask with
If-Modified-Since alone, as some feed readers and calendar apps do (the ETag already names
the release): their Last-Modified is never earlier than when the running release started
serving (baltmet.release_since).

Each process is played here by the release it runs (`release.current()`), the time it started
and whether it has recorded its release yet.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from baltmet import release, release_since
from baltmet.models import Release
from tests.news_factories import make_article, make_event

pytestmark = pytest.mark.django_db(transaction=True)

URLS = ["/news/feed/", "/events/calendar.ics", "/events/conference.ics", "/sitemap.xml", "/sitemap-news.xml"]


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0


@pytest.fixture
def processes(monkeypatch):
    """`start(name)`: from now on requests are answered by a new process of release `name`,
    started at the current time; the clock then moves on a few seconds."""
    clock = {"now": timezone.now()}
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])

    def start(name):
        monkeypatch.setattr(release, "current", lambda: name)
        monkeypatch.setattr(release_since, "started", clock["now"])
        monkeypatch.setattr(release_since, "_recorded", None)
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


def test_a_release_whose_row_has_gone_is_recorded_again(client, content, processes):
    processes("release-one")
    client.get("/news/feed/")
    Release.objects.all().delete()
    processes.later(seconds=5)
    assert client.get("/news/feed/").status_code == 200
    assert Release.objects.filter(digest="release-one").exists()


def test_a_release_recorded_by_another_process_since_the_read_is_taken_as_it_is(content, processes):
    processes("release-one")
    earlier = timezone.now() - timedelta(minutes=3)
    Release.objects.create(digest="release-one", serving_since=earlier)
    # As if read just before the other process made the row.
    assert release_since.serving_since(None) == earlier


def test_a_304_still_runs_one_query_once_the_release_is_recorded(client, content, processes, django_assert_num_queries):
    processes("release-one")
    first = client.get("/news/feed/")
    with django_assert_num_queries(1):
        assert _modified_since(client, "/news/feed/", first["Last-Modified"]) == 304
