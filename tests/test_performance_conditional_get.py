"""Feeds, calendars and sitemaps answer conditional requests with 304 Not Modified, cheaply,
and stop doing so as soon as what they show changes.

The views' own answers are tested here, with the page cache off (a stored page answers
conditional requests too: test_performance_page_cache). Changes are committed, as on a running
site, because the content version changes at commit.
"""

import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.http import http_date

import news.feeds
import news.models
from baltmet import content_version
from baltmet.content_version import local_midnight
from tests.news_factories import make_article, make_event

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clock_away_from_midnight")]

URLS = [
    "/news/feed/",
    "/news/feed/atom/",
    "/events/calendar.ics",
    "/events/conference.ics",
    "/sitemap.xml",
    "/sitemap-news.xml",
]


def _at(monkeypatch, moment):
    monkeypatch.setattr(timezone, "now", lambda: moment)


def _a_while_later(monkeypatch):
    """Move the clock on: a file's Last-Modified is sent once its second is over."""
    _at(monkeypatch, timezone.now() + timedelta(seconds=2))


@pytest.fixture
def content(monkeypatch):
    article = make_article("Cluster news", publish_at=timezone.now() - timedelta(days=2))
    event = make_event("Conference", slug="conference")
    _a_while_later(monkeypatch)
    return article, event


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0


def test_a_head_request_gets_the_files_validators_and_304(client, content):
    # Review r29d: nothing tested HEAD, which the validators take as GET.
    first = client.get("/news/feed/")
    head = client.head("/news/feed/")
    assert (head.get("ETag"), head.get("Last-Modified")) == (first["ETag"], first["Last-Modified"])
    assert client.head("/news/feed/", headers={"If-None-Match": first["ETag"]}).status_code == 304


def test_an_edit_dated_before_the_files_moment_still_changes_its_etag(client, monkeypatch):
    # docs/performance.md: an edit dated before a Last-Modified already sent (a server whose
    # clock is ahead moved the release's moment on) changes the ETag, which names the content
    # version, at once (review r29d: nothing checked the version is in it).
    from baltmet import release, release_since
    from baltmet.models import Release

    article = make_article("Old news", publish_at=timezone.now() - timedelta(days=2))
    monkeypatch.setattr(release_since, "_recorded", None)
    monkeypatch.setattr(release_since, "_failed_at", None)
    release_since.serving_since()
    Release.objects.filter(digest=release.current()).update(serving_since=timezone.now() + timedelta(minutes=10))
    first = client.get("/news/feed/")
    article.title = "Corrected news"
    article.save()
    response = client.get("/news/feed/", headers={"If-None-Match": first["ETag"]})
    assert response.status_code == 200, "the reader is told its copy from before the edit is current"
    assert "Corrected news" in response.content.decode()


@pytest.mark.parametrize("url", ["/news/feed/", "/news/feed/atom/"])
def test_an_empty_feed_is_the_same_file_while_its_etag_is_the_same(client, url):
    # Django dates a feed without items with the time it writes it (review r27a).
    first = client.get(url)
    time.sleep(1.1)  # the feeds' dates have whole seconds
    second = client.get(url)
    assert second["ETag"] == first["ETag"]
    assert second.content == first.content


@pytest.mark.parametrize("url", ["/news/feed/", "/news/feed/atom/"])
def test_an_empty_feed_reads_when_the_content_changed_once(client, monkeypatch, url):
    reads = []

    def read_version(**moments):
        reads.append(moments)
        return content_version.read_version(**moments)

    monkeypatch.setattr(news.feeds, "read_version", read_version)
    assert client.get(url).status_code == 200
    assert len(reads) == 1


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
@pytest.mark.parametrize("if_none_match", ["not-a-tag", '"unclosed', "", "   "])
def test_an_if_none_match_naming_no_tag_is_not_overruled_by_if_modified_since(client, content, url, if_none_match):
    # RFC 9110, 13.1.3: with If-None-Match sent, If-Modified-Since is ignored; one that names
    # no entity tag matches none, so the file is sent.
    last_modified = client.get(url)["Last-Modified"]
    response = client.get(url, headers={"If-None-Match": if_none_match, "If-Modified-Since": last_modified})
    assert response.status_code == 200
    assert response.content


@pytest.mark.parametrize("url", URLS)
def test_if_none_match_any_with_a_current_if_unmodified_since_is_304_as_on_a_stored_page(client, content, url):
    # RFC 9110, 13.2.2: If-Unmodified-Since holds (the file is no newer), then "*" matches.
    last_modified = client.get(url)["Last-Modified"]
    response = client.get(url, headers={"If-None-Match": "*", "If-Unmodified-Since": last_modified})
    assert response.status_code == 304


@pytest.mark.parametrize("url", URLS)
def test_a_304_carries_the_headers_its_200_has_that_a_304_must_repeat(client, content, url):
    # RFC 9110, 15.4.5: Cache-Control, Content-Location, Date, ETag, Expires and Vary. A cache
    # that refreshes its copy with the 304 keeps what the 304 says.
    must_repeat = ("Cache-Control", "Content-Location", "ETag", "Expires", "Vary")
    first = client.get(url)
    not_modified = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert not_modified.status_code == 304
    assert {name: not_modified.get(name) for name in must_repeat} == {name: first.get(name) for name in must_repeat}


@pytest.mark.parametrize("url", URLS)
def test_a_304_does_not_say_its_content_is_empty(client, content, url):
    # RFC 9110, 8.6: a 304 sends no Content-Length, or the 200's.
    first = client.get(url)
    not_modified = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert not_modified.status_code == 304
    assert not_modified.get("Content-Length") in (None, first["Content-Length"])


@pytest.mark.parametrize("url", URLS)
def test_an_edit_makes_the_old_validators_stale(client, content, url, monkeypatch):
    first = client.get(url)
    article, event = content
    _at(monkeypatch, timezone.now() + timedelta(seconds=5))
    article.title = "Renamed news"
    article.save()
    event.title = "Renamed conference"
    event.save()
    for headers in ({"If-None-Match": first["ETag"]}, {"If-Modified-Since": first["Last-Modified"]}):
        response = client.get(url, headers=headers)
        assert response.status_code == 200
        assert response["ETag"] != first["ETag"]


def _scheduled_article(moment):
    make_article("Scheduled news", publish_at=moment)


def _scheduled_event(moment):
    make_event("Announced later", starts=moment + timedelta(days=60), publish_at=moment)


@pytest.mark.parametrize(
    "url, scheduled, shown_as",
    [
        ("/news/feed/", _scheduled_article, "Scheduled news"),
        # Review r29g: only the feed's case was tested; crawlers and subscribers told 304 missed
        # what came out.
        ("/sitemap.xml", _scheduled_article, None),  # the index names no article
        ("/sitemap-news.xml", _scheduled_article, "/news/scheduled-news/"),
        ("/events/calendar.ics", _scheduled_event, "Announced later"),
    ],
)
def test_a_scheduled_item_coming_out_makes_the_file_stale_without_any_save(
    client, content, monkeypatch, url, scheduled, shown_as
):
    start = timezone.now()
    scheduled(start + timedelta(hours=1))
    _a_while_later(monkeypatch)
    first = client.get(url)
    assert shown_as is None or shown_as not in first.content.decode()
    assert client.get(url, headers={"If-None-Match": first["ETag"]}).status_code == 304

    _at(monkeypatch, start + timedelta(hours=1, seconds=1))
    for headers in ({"If-None-Match": first["ETag"]}, {"If-Modified-Since": first["Last-Modified"]}):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, headers
        assert shown_as is None or shown_as in response.content.decode()


@pytest.fixture
def full_calendar(monkeypatch):
    """The calendar keeps no past event: it is full, and an event ending drops one from it."""
    monkeypatch.setattr(news.models, "CALENDAR_PAST_EVENTS", 0)


def test_an_event_ending_makes_a_full_calendar_stale(client, monkeypatch, full_calendar):
    start = timezone.now()
    make_event("Morning session", starts=start - timedelta(hours=1), ends=start + timedelta(minutes=10))
    first = client.get("/events/calendar.ics")
    _at(monkeypatch, start + timedelta(minutes=11))
    response = client.get("/events/calendar.ics", headers={"If-None-Match": first["ETag"]})
    assert response.status_code == 200 and "Morning session" not in response.content.decode()


@pytest.mark.parametrize("all_day", [False, True], ids=["timed", "all day"])
def test_a_calendar_holding_every_event_stays_current_when_one_ends(client, monkeypatch, all_day):
    # Its bytes are the same: subscribers' calendar apps need not download it again.
    start = timezone.now()
    ends = local_midnight(start, days_later=1) - timedelta(hours=1) if all_day else start + timedelta(minutes=10)
    make_event("Morning session", starts=start - timedelta(hours=1), ends=ends, all_day=all_day)
    make_event("Next month", starts=start + timedelta(days=30))
    first = client.get("/events/calendar.ics")
    _at(monkeypatch, local_midnight(start, days_later=1) + timedelta(minutes=1) if all_day else start + timedelta(minutes=11))

    response = client.get("/events/calendar.ics", headers={"If-None-Match": first["ETag"]})

    assert response.status_code == 304
    assert client.get("/events/calendar.ics").content == first.content


def test_the_calendar_stays_current_over_a_midnight_at_which_no_event_ends(client, monkeypatch):
    # Else every subscriber's calendar app would download the whole file again each day.
    midnight = local_midnight(timezone.now(), days_later=1)
    make_event("Far ahead", starts=midnight + timedelta(days=60))
    make_event("Last year's", starts=midnight - timedelta(days=365), all_day=True)
    _at(monkeypatch, midnight - timedelta(minutes=1))
    first = client.get("/events/calendar.ics")
    _at(monkeypatch, midnight + timedelta(minutes=1))
    for headers in ({"If-None-Match": first["ETag"]}, {"If-Modified-Since": first["Last-Modified"]}):
        assert client.get("/events/calendar.ics", headers=headers).status_code == 304


def _days_ahead_when_clocks_change():
    """How many days from today the site's time zone next moves its clocks, forward and back,
    within a year and a half (none in a zone without summer time)."""
    today = local_midnight(timezone.now())
    days, before = [], None
    for days_later in range(550):
        offset = timezone.localtime(local_midnight(today, days_later) + timedelta(hours=12)).utcoffset()
        if before is not None and offset != before and len(days) < 2:
            days.append(days_later)
        before = offset
    return days


@pytest.mark.parametrize("days_later", [1, *_days_ahead_when_clocks_change()])
def test_an_all_day_event_makes_a_full_calendar_stale_at_the_midnight_after_its_last_day(
    client, monkeypatch, days_later, full_calendar
):
    # Its last day an ordinary one, or one on which the clocks change (23 or 25 hours long).
    last_day = local_midnight(timezone.now(), days_later=days_later)
    make_event("Workshop days", starts=last_day - timedelta(days=1), ends=last_day + timedelta(hours=12), all_day=True)
    make_event("Timed, long before", starts=last_day - timedelta(days=30))
    after = local_midnight(last_day, days_later=1)
    _at(monkeypatch, after - timedelta(minutes=1))
    first = client.get("/events/calendar.ics")
    _at(monkeypatch, after + timedelta(seconds=1))
    for headers in ({"If-None-Match": first["ETag"]}, {"If-Modified-Since": first["Last-Modified"]}):
        assert client.get("/events/calendar.ics", headers=headers).status_code == 200
    _at(monkeypatch, after + timedelta(hours=1))
    second = client.get("/events/calendar.ics")
    assert second["Last-Modified"] == http_date(after.timestamp())


def test_hidden_events_stay_404_and_staff_previews_stay_private(client, staff_user):
    draft = make_event("Secret conference", status="draft")
    assert client.get(f"/events/{draft.slug}.ics").status_code == 404
    staff = Client()
    staff.force_login(staff_user)
    preview = staff.get(f"/events/{draft.slug}.ics")
    assert preview.status_code == 200
    assert "private" in preview["Cache-Control"] and "no-store" in preview["Cache-Control"]


A_SECOND = datetime(2030, 6, 1, 12, 0, 0, tzinfo=dt_timezone.utc)


def _ms(milliseconds):
    return A_SECOND + timedelta(milliseconds=milliseconds)


def test_last_modified_is_left_out_until_its_second_is_over(client, monkeypatch):
    # HTTP dates have whole seconds: a change later in the same second would keep the same
    # Last-Modified, and a client asking If-Modified-Since would be told nothing changed.
    _at(monkeypatch, _ms(100))
    article = make_article("Old news", publish_at=_ms(-86_400_000))
    _at(monkeypatch, _ms(300))
    first = client.get("/news/feed/")
    assert "Last-Modified" not in first
    _at(monkeypatch, _ms(700))
    article.title = "Corrected news"
    article.save()
    _at(monkeypatch, _ms(1200))
    second = client.get("/news/feed/")
    assert "Corrected news" in second.content.decode()
    assert second["Last-Modified"] == "Sat, 01 Jun 2030 12:00:00 GMT"
    assert client.get("/news/feed/", headers={"If-Modified-Since": second["Last-Modified"]}).status_code == 304


def test_an_article_coming_out_in_the_same_second_as_the_last_one_changes_the_etag(client, monkeypatch):
    _at(monkeypatch, _ms(-5000))
    make_article("First news", publish_at=_ms(100))
    make_article("Second news", publish_at=_ms(600))
    _at(monkeypatch, _ms(300))
    first = client.get("/news/feed/")
    assert "Second news" not in first.content.decode()
    _at(monkeypatch, _ms(900))
    response = client.get("/news/feed/", headers={"If-None-Match": first["ETag"]})
    assert response.status_code == 200
    assert "Second news" in response.content.decode()


@pytest.mark.parametrize("url", ["/events/no-such-event.ics", "/sitemap-nosuchsection.xml", "/sitemap-news.xml?p=99"])
def test_if_none_match_any_is_404_for_a_file_that_does_not_exist(client, content, url):
    assert client.get(url, headers={"If-None-Match": "*"}).status_code == 404


@pytest.mark.parametrize("url", URLS)
def test_if_none_match_any_is_304_for_a_file_that_exists(client, content, url):
    assert client.get(url, headers={"If-None-Match": "*"}).status_code == 304


@pytest.mark.parametrize(
    "url",
    ["/sitemap-nosuchsection.xml", "/sitemap-news.xml?p=2", "/sitemap-news.xml?p=0", "/sitemap-news.xml?p=abc",
     "/sitemap-pages.xml?p=2", "/sitemap-regions.xml?p=2"],
)
@pytest.mark.parametrize("header", ["If-None-Match", "If-Modified-Since"])
def test_a_sitemap_that_does_not_exist_is_404_whatever_validators_the_client_sends(client, content, url, header):
    # Every sitemap address shares one ETag: a page that does not exist must not match it.
    existing = client.get("/sitemap-news.xml")
    validator = existing["ETag"] if header == "If-None-Match" else existing["Last-Modified"]
    assert client.get(url).status_code == 404
    assert client.get(url, headers={header: validator}).status_code == 404


@pytest.mark.parametrize("page", ["10000000000000000", "99999999999999999999"])
def test_a_sitemap_page_past_what_postgresql_counts_to_is_404(content, page):
    assert Client(raise_request_exception=False).get(f"/sitemap-news.xml?p={page}").status_code == 404


def test_a_second_sitemap_page_that_exists_answers_304(client, content, monkeypatch, django_assert_num_queries):
    from baltmet.sitemaps import ArticleSitemap

    monkeypatch.setattr(ArticleSitemap, "limit", 1)
    make_article("More news", publish_at=timezone.now() - timedelta(days=1))
    _a_while_later(monkeypatch)
    first = client.get("/sitemap-news.xml?p=2")
    assert first.status_code == 200
    with django_assert_num_queries(1):
        assert client.get("/sitemap-news.xml?p=2", headers={"If-None-Match": first["ETag"]}).status_code == 304
    assert client.get("/sitemap-news.xml?p=3", headers={"If-None-Match": first["ETag"]}).status_code == 404


def test_a_missing_or_hidden_event_file_is_404_whatever_validators_the_client_sends(client, content, monkeypatch):
    draft = make_event("Secret conference", status="draft")
    _a_while_later(monkeypatch)
    published = client.get("/events/conference.ics")
    for headers in ({"If-None-Match": published["ETag"]}, {"If-Modified-Since": published["Last-Modified"]}):
        assert client.get("/events/gone.ics", headers=headers).status_code == 404
        assert client.get(f"/events/{draft.slug}.ics", headers=headers).status_code == 404
