"""Every public page runs a fixed number of SQL queries, at most six, whether the site has ten
articles or ten thousand, counted as a visitor's request runs them: through the page cache,
when the page is made (a miss: the page cache's one query, then the view's), when it comes
from the cache (a hit: one query, the content version), and when it is made again after a
change (the version, then as when made).

The content is committed, as on a running site (the page cache stands aside inside a
transaction): first ten articles (with events, regions, topics, figures), on which every
page's queries are counted; then 9990 more articles and 500 more events, bulk-inserted, after
which every page is counted again. The cache is local memory with the
content version in the database, the setup with more queries: with Redis a hit runs none
(test_performance_page_cache).
"""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from baltmet.page_cache import content_changed
from baltmet.search_index import update_vectors
from news.models import Article, Event
from regions.models import Region
from tests.news_factories import make_article, make_event, make_past_event, make_topic
from tests.regions_factories import (
    add_figure,
    make_cluster,
    make_institution,
    make_metric,
    make_organisation,
    make_region,
)

MAX_QUERIES = 6
SMALL, LARGE = 10, 10_000

URLS = [
    "/",
    "/news/",
    "/news/cluster-news-0/",
    "/news/topic/smart-cities/",
    "/news/feed/",
    "/news/feed/atom/",
    "/events/",
    "/events/?page=2",
    "/events/riga-forum/",
    "/events/riga-forum.ics",
    "/events/calendar.ics",
    "/regions/",
    "/regions/riga/",
    "/regions/compare/",
    "/regions/compare/?region=riga&region=oslo&metric=population",
    "/search/?q=cluster",
    "/search/?q=cluster+riga",
    "/sitemap.xml",
    "/sitemap-news.xml",
    "/sitemap-events.xml",
    "/sitemap-regions.xml",
    "/robots.txt",
]


def _small_site():
    now = timezone.now()
    agency = make_organisation("teknopol", name="Oslo Teknopol")
    riga = make_region("riga", name="Riga", country="Latvia", lead="The capital of Latvia.")
    oslo = make_region("oslo", name="Oslo", country="Norway", agency=agency)
    metrics = [make_metric("population", headline=True), make_metric("area", unit="km²", headline=True, position=1)]
    for region in (riga, oslo):
        for metric in metrics:
            add_figure(region, metric, 700000, year=2005)
            add_figure(region, metric, 720000, year=2007)
        make_institution(region, f"{region.slug}-university", students=10000)
        make_cluster(region, f"{region.slug}-ict", network=agency)
    topics = [make_topic("Smart cities"), make_topic("Clean energy")]
    forum = make_event("Riga forum", slug="riga-forum", region=riga, starts=now + timedelta(days=10))
    for number in range(25):
        make_past_event(f"Past event {number}", region=riga if number % 2 else oslo)
    for number in range(SMALL):
        make_article(
            f"Cluster news {number}",
            slug=f"cluster-news-{number}",
            topics=topics if number % 2 else topics[:1],
            regions=[riga, oslo] if number % 3 else [riga],
            event=forum if number == 0 else None,
            publish_at=now - timedelta(hours=number + 1),
            body="<p>Cluster partners from Riga met.</p>",
        )
    return riga, oslo, topics


def _grow_site(riga, oslo, topics):
    """9990 more articles and 500 more events, inserted in bulk, with their topics and regions."""
    now = timezone.now()
    articles = Article.objects.bulk_create(
        Article(
            title=f"Archive item {number}",
            slug=f"archive-item-{number}",
            lead="Cluster partners met in Riga.",
            body="<p>Cluster partners from Riga met again.</p>",
            status=Article.Status.PUBLISHED if number % 10 else Article.Status.DRAFT,
            publish_at=now - timedelta(days=1 + number / 10),
        )
        for number in range(LARGE - SMALL)
    )
    Article.topics.through.objects.bulk_create(
        Article.topics.through(article_id=article.pk, topic_id=topics[number % 2].pk)
        for number, article in enumerate(articles)
    )
    Article.regions.through.objects.bulk_create(
        Article.regions.through(article_id=article.pk, region_id=(riga if number % 2 else oslo).pk)
        for number, article in enumerate(articles)
    )
    Event.objects.bulk_create(
        Event(
            title=f"Archive event {number}",
            slug=f"archive-event-{number}",
            status=Event.Status.PUBLISHED,
            publish_at=now - timedelta(days=400),
            starts=now - timedelta(days=2 + number),
            ends=now - timedelta(days=2 + number) + timedelta(hours=3),
            all_day=False,
            region=riga if number % 2 else oslo,
        )
        for number in range(500)
    )
    # Bulk inserts skip the search index's receivers (baltmet.search_index).
    update_vectors(Article.objects.all())
    update_vectors(Event.objects.all())


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries), response


def _made_cached_remade(client, url):
    """The queries of `url` made afresh, served from the page cache, and made again after a
    change to the content (a stored page found out of date)."""
    cache.clear()
    made, response = _count(client, url)
    assert response["X-Page-Cache"] == "miss", url
    cached, response = _count(client, url)
    assert response["X-Page-Cache"] == "hit", url
    content_changed()
    remade, response = _count(client, url)
    assert response["X-Page-Cache"] == "miss", url
    return made, cached, remade


def _counts(client):
    return {url: _made_cached_remade(client, url) for url in URLS}


@pytest.mark.django_db(transaction=True)
def test_every_page_runs_at_most_six_queries_made_or_cached_with_ten_and_ten_thousand_articles(settings):
    settings.PAGE_CACHE_SECONDS = 3600
    settings.PAGE_CACHE_VERSION_IN_CACHE = False
    # A hit reads the version every time: the most it does. (With the watch of the version on,
    # it reads it only when the watch has nothing to trust, tests/test_performance_database_version_watch.py.)
    settings.PAGE_CACHE_LISTEN = False
    riga, oslo, topics = _small_site()
    client = Client()
    for url in URLS:
        client.get(url)  # once first: what a process does once (preparing the page cache's query, ...)
    small = _counts(client)
    _grow_site(riga, oslo, topics)
    assert Article.objects.count() == LARGE
    large = _counts(client)

    # (made, cached, remade) per page; every failing page is named at once.
    too_many = {url: counts for url, counts in large.items() if max(counts) > MAX_QUERIES or counts[1] > 1}
    assert not too_many, f"more than {MAX_QUERIES} queries to make a page, or more than 1 to serve it from the cache: {too_many}"
    grew = {url: (small[url], large[url]) for url in URLS if small[url] != large[url]}
    assert not grew, f"(made, cached, remade) with {SMALL} and with {LARGE} articles differ: {grew}"


@pytest.mark.django_db
def test_region_page_gets_upcoming_and_past_events_in_one_query_in_their_order(client, django_assert_num_queries):
    _small_site()
    context = client.get("/regions/riga/").context
    riga = Region.objects.get(slug="riga")
    riga_events = Event.objects.filter(region=riga)
    with django_assert_num_queries(1):
        Event.objects.upcoming_and_past_in_region(riga.pk, 5)
    assert [event.pk for event in context["upcoming_events"]] == [event.pk for event in riga_events.upcoming()[:5]]
    assert [event.pk for event in context["past_events"]] == [event.pk for event in riga_events.past()[:5]]
    assert [event.title for event in context["upcoming_events"]] == ["Riga forum"]
    assert len(context["past_events"]) == 5
