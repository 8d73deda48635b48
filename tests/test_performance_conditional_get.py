"""Feeds, calendars and sitemaps answer conditional requests with 304 Not Modified, cheaply,
and stop doing so as soon as what they show changes.

The views' own answers are tested here, with the page cache off (a stored page answers
conditional requests too: test_performance_page_cache). Changes are committed, as on a running
site, because the content version changes at commit.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.news_factories import make_article, make_event

pytestmark = pytest.mark.django_db(transaction=True)

URLS = [
    "/news/feed/",
    "/news/feed/atom/",
    "/events/calendar.ics",
    "/events/conference.ics",
    "/sitemap.xml",
    "/sitemap-news.xml",
]


@pytest.fixture
def content():
    article = make_article("Cluster news", publish_at=timezone.now() - timedelta(days=2))
    event = make_event("Conference", slug="conference")
    return article, event


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0


@pytest.mark.parametrize("url", URLS)
def test_answers_304_to_if_none_match_and_if_modified_since(client, content, url, django_assert_num_queries):
    first = client.get(url)
    assert first.status_code == 200
    etag, last_modified = first["ETag"], first["Last-Modified"]
    assert "no-cache" in first["Cache-Control"]

    with django_assert_num_queries(1):
        not_modified = client.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified["ETag"] == etag

    assert client.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200


@pytest.mark.parametrize("url", URLS)
def test_an_edit_makes_the_old_validators_stale(client, content, url, monkeypatch):
    first = client.get(url)
    article, event = content
    later = timezone.now() + timedelta(seconds=5)
    monkeypatch.setattr(timezone, "now", lambda: later)
    article.title = "Renamed news"
    article.save()
    event.title = "Renamed conference"
    event.save()
    for headers in ({"If-None-Match": first["ETag"]}, {"If-Modified-Since": first["Last-Modified"]}):
        response = client.get(url, headers=headers)
        assert response.status_code == 200
        assert response["ETag"] != first["ETag"]


def test_a_scheduled_article_coming_out_makes_the_feed_stale_without_any_save(client, content, monkeypatch):
    start = timezone.now()
    make_article("Scheduled news", publish_at=start + timedelta(hours=1))
    first = client.get("/news/feed/")
    assert "Scheduled news" not in first.content.decode()
    assert client.get("/news/feed/", headers={"If-None-Match": first["ETag"]}).status_code == 304

    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(hours=1, seconds=1))
    for headers in ({"If-None-Match": first["ETag"]}, {"If-Modified-Since": first["Last-Modified"]}):
        response = client.get("/news/feed/", headers=headers)
        assert response.status_code == 200
        assert "Scheduled news" in response.content.decode()


def test_an_event_ending_makes_the_calendar_stale(client, monkeypatch):
    start = timezone.now()
    make_event("Morning session", starts=start - timedelta(hours=1), ends=start + timedelta(minutes=10))
    first = client.get("/events/calendar.ics")
    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(minutes=11))
    assert client.get("/events/calendar.ics", headers={"If-None-Match": first["ETag"]}).status_code == 200


def test_hidden_events_stay_404_and_staff_previews_stay_private(client, staff_user):
    draft = make_event("Secret conference", status="draft")
    assert client.get(f"/events/{draft.slug}.ics").status_code == 404
    staff = Client()
    staff.force_login(staff_user)
    preview = staff.get(f"/events/{draft.slug}.ics")
    assert preview.status_code == 200
    assert "private" in preview["Cache-Control"] and "no-store" in preview["Cache-Control"]
