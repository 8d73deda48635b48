"""The RSS 2.0 and Atom feeds of the latest news, read the way a feed reader reads them."""

import calendar
from datetime import timedelta

import feedparser
import pytest
from django.utils import timezone

from news.models import Article
from tests.news_factories import make_article, make_topic

pytestmark = pytest.mark.django_db

FEEDS = {"rss": "/news/feed/", "atom": "/news/feed/atom/"}


def _parse(client, url):
    response = client.get(url)
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    return response, feed


def _epoch(struct_time):
    return calendar.timegm(struct_time)


def test_rss_feed_is_rss_2_with_the_site_as_channel(client):
    make_article("Something happened")
    response, feed = _parse(client, FEEDS["rss"])
    assert response["Content-Type"].startswith("application/rss+xml")
    assert feed.version == "rss20"
    assert feed.feed.title == "BaltMet Inno news"
    assert feed.feed.link == "http://testserver/news/"


def test_atom_feed_is_atom_1_with_a_subtitle(client):
    make_article("Something happened")
    response, feed = _parse(client, FEEDS["atom"])
    assert response["Content-Type"].startswith("application/atom+xml")
    assert feed.version == "atom10"
    assert "Baltic Metropoles" in feed.feed.subtitle


@pytest.mark.parametrize("kind", FEEDS)
def test_feed_items_have_absolute_links_lead_dates_and_topics(client, kind):
    topic = make_topic("Cluster development")
    published = timezone.now() - timedelta(days=3)
    article = make_article(
        'WP 3 "Cluster Development" conference',
        lead='A conference on "Transnational Cluster Alliances" & more',
        publish_at=published,
        topics=[topic],
    )
    _, feed = _parse(client, FEEDS[kind])
    [entry] = feed.entries
    assert entry.title == 'WP 3 "Cluster Development" conference'
    assert entry.link == f"http://testserver{article.get_absolute_url()}"
    # The plain-text lead is escaped into the HTML description, so readers show it as written.
    assert entry.summary == "A conference on &quot;Transnational Cluster Alliances&quot; &amp; more"
    assert _epoch(entry.published_parsed) == int(published.timestamp())
    assert [tag.term for tag in entry.tags] == ["Cluster development"]
    if kind == "atom":
        article.refresh_from_db()
        assert _epoch(entry.updated_parsed) == int(article.updated.timestamp())


def test_feed_uses_the_requests_host_and_scheme_for_links(client):
    article = make_article("Hosted news")
    _, feed = _parse(client.__class__(HTTP_HOST="localhost"), FEEDS["rss"])
    assert feed.entries[0].link == f"http://localhost{article.get_absolute_url()}"


@pytest.mark.parametrize("kind", FEEDS)
def test_feed_carries_the_latest_twenty_articles_newest_first(client, kind):
    now = timezone.now()
    for day in range(1, 23):
        make_article(f"News {day:02d}", publish_at=now - timedelta(days=day))
    _, feed = _parse(client, FEEDS[kind])
    assert [entry.title for entry in feed.entries] == [f"News {day:02d}" for day in range(1, 21)]


def test_feed_of_a_site_without_news_is_valid_and_empty(client):
    for url in FEEDS.values():
        _, feed = _parse(client, url)
        assert feed.entries == []


def test_updated_date_follows_the_last_edit(client):
    article = make_article("Edited news")
    article.lead = "Corrected lead"
    article.save()
    _, feed = _parse(client, FEEDS["atom"])
    assert feed.entries[0].summary == "Corrected lead"
    assert _epoch(feed.entries[0].updated_parsed) == int(Article.objects.get().updated.timestamp())
