"""Drafts and scheduled items stay off every public surface; staff preview them at their URL."""

from datetime import timedelta

import feedparser
import pytest
from django.utils import timezone
from icalendar import Calendar

from news.models import Article, Event
from tests.news_factories import (
    make_article,
    make_draft_article,
    make_event,
    make_past_event,
    make_scheduled_article,
    make_topic,
)
from tests.regions_factories import make_region

pytestmark = pytest.mark.django_db

PUBLIC_NEWS_SURFACES = ["/", "/news/", "/news/feed/", "/news/feed/atom/", "/search/?q=secret"]


@pytest.fixture
def topic():
    return make_topic("Cluster development")


@pytest.fixture
def hidden_articles(topic):
    """A draft and a scheduled article next to a published one, all in the same topic."""
    return {
        "published": make_article("Published secret news", topics=[topic]),
        "draft": make_draft_article("Draft secret news", topics=[topic]),
        "scheduled": make_scheduled_article("Scheduled secret news", topics=[topic]),
    }


def _text(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


@pytest.mark.parametrize("url", PUBLIC_NEWS_SURFACES + ["topic"])
def test_drafts_and_scheduled_articles_are_on_no_public_list_or_feed(client, hidden_articles, topic, url):
    url = topic.get_absolute_url() if url == "topic" else url
    text = _text(client, url)
    assert "Published secret news" in text, "the published one shows, so the page does list news"
    assert "Draft secret news" not in text
    assert "Scheduled secret news" not in text


def test_feeds_carry_only_published_articles_when_parsed(client, hidden_articles):
    for url in ("/news/feed/", "/news/feed/atom/"):
        feed = feedparser.parse(_text(client, url))
        assert [entry.title for entry in feed.entries] == ["Published secret news"], url


@pytest.mark.parametrize("kind", ["draft", "scheduled"])
def test_unpublished_article_page_is_a_404_for_the_public(client, hidden_articles, kind):
    assert client.get(hidden_articles[kind].get_absolute_url()).status_code == 404


@pytest.mark.parametrize("kind", ["draft", "scheduled"])
def test_unpublished_article_page_is_a_404_for_a_signed_in_non_staff_user(
    client, django_user_model, hidden_articles, kind
):
    client.force_login(django_user_model.objects.create_user("reader", password="x"))
    assert client.get(hidden_articles[kind].get_absolute_url()).status_code == 404


def test_staff_preview_a_draft_at_its_public_url_with_a_banner(staff_client, hidden_articles):
    response = staff_client.get(hidden_articles["draft"].get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Draft secret news</h1>" in html
    assert "Preview:" in html and "this is a draft" in html
    assert '<meta name="robots" content="noindex">' in html
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_staff_preview_a_scheduled_article_with_its_publish_time(staff_client, hidden_articles):
    scheduled = hidden_articles["scheduled"]
    html = _text(staff_client, scheduled.get_absolute_url())
    assert "this is scheduled for" in html
    assert timezone.localtime(scheduled.publish_at).isoformat(timespec="seconds") in html


def test_published_article_has_no_preview_banner_even_for_staff(staff_client, hidden_articles):
    response = staff_client.get(hidden_articles["published"].get_absolute_url())
    assert "Preview:" not in response.content.decode()
    assert "no-store" not in response.get("Cache-Control", "")


def test_staff_do_not_see_drafts_in_public_lists(staff_client, hidden_articles):
    assert "Draft secret news" not in _text(staff_client, "/news/")


def test_article_becomes_public_when_its_publish_time_comes(client):
    article = make_scheduled_article("Later news")
    assert client.get(article.get_absolute_url()).status_code == 404
    Article.objects.filter(pk=article.pk).update(publish_at=timezone.now() - timedelta(seconds=1))
    assert client.get(article.get_absolute_url()).status_code == 200


def test_draft_event_is_hidden_from_home_lists_pages_and_calendars(client):
    make_event("Announced conference")
    draft = make_event("Secret conference", status=Event.Status.DRAFT)
    scheduled = make_event("Scheduled conference", publish_at=timezone.now() + timedelta(days=1))
    for url in ("/", "/events/"):
        html = _text(client, url)
        assert "Announced conference" in html
        assert "Secret conference" not in html and "Scheduled conference" not in html
    for event in (draft, scheduled):
        assert client.get(event.get_absolute_url()).status_code == 404
        assert client.get(f"/events/{event.slug}.ics").status_code == 404
    calendar = Calendar.from_ical(client.get("/events/calendar.ics").content)
    assert [str(vevent["SUMMARY"]) for vevent in calendar.walk("VEVENT")] == ["Announced conference"]


def test_staff_preview_a_draft_event_and_its_ics(staff_client):
    draft = make_event("Secret conference", status=Event.Status.DRAFT)
    html = _text(staff_client, draft.get_absolute_url())
    assert "Preview:" in html and "this is a draft" in html
    assert staff_client.get(f"/events/{draft.slug}.ics").status_code == 200


def test_article_does_not_link_an_event_that_is_still_a_draft(client):
    event = make_event("Unannounced conference", status=Event.Status.DRAFT)
    article = make_article("News about it", event=event)
    html = _text(client, article.get_absolute_url())
    assert event.get_absolute_url() not in html


def test_event_page_lists_only_published_news_about_it(client):
    event = make_event("Conference")
    make_article("Published report", event=event)
    make_draft_article("Draft report", event=event)
    html = _text(client, event.get_absolute_url())
    assert "Published report" in html and "Draft report" not in html


def test_all_day_event_stays_upcoming_through_its_last_day():
    site_tz = timezone.get_default_timezone()
    today = timezone.localdate(timezone.now(), site_tz)
    midnight = timezone.make_aware(timezone.datetime.combine(today, timezone.datetime.min.time()), site_tz)
    riga = make_region("riga")
    # Stored, as all-day events are, with the last day's date at midnight: already "before now".
    ends_today = make_event("Ends today", all_day=True, starts=midnight - timedelta(days=1), ends=midnight, region=riga)
    ended_yesterday = make_event(
        "Ended yesterday",
        all_day=True,
        starts=midnight - timedelta(days=2),
        ends=midnight - timedelta(days=1),
        region=riga,
    )
    assert list(Event.objects.upcoming()) == [ends_today]
    assert list(Event.objects.past()) == [ended_yesterday]
    # The prepared queries of the home page and the region profile, given the start of the day.
    assert Event.objects.next_upcoming(5) == [ends_today]
    assert Event.objects.upcoming_and_past_in_region(riga.pk, 5) == ([ends_today], [ended_yesterday])


def test_timed_event_is_past_once_it_has_ended():
    now = timezone.now()
    ended = make_event("Ended an hour ago", starts=now - timedelta(hours=3), ends=now - timedelta(hours=1))
    running = make_event("Still running", starts=now - timedelta(hours=1), ends=now + timedelta(hours=1))
    assert list(Event.objects.upcoming()) == [running]
    assert list(Event.objects.past()) == [ended]


def test_past_events_are_still_public_pages(client):
    event = make_past_event("Last year's workshop")
    assert client.get(event.get_absolute_url()).status_code == 200
