"""/sitemap.xml and /robots.txt: what crawlers are told about the site."""

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps import views as sitemap_views
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from baltmet.sitemaps import SITEMAPS, ArticleSitemap, EventSitemap, PublishableSitemap
from news.models import Article
from tests.news_factories import make_article, make_draft_article, make_event, make_scheduled_article
from tests.query_plans import plan_nodes
from tests.regions_factories import make_region

pytestmark = pytest.mark.django_db

NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def _xml(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"].startswith("application/xml")
    return ET.fromstring(response.content)


def sitemap_entries(client, index_url="/sitemap.xml"):
    """{loc: lastmod or None} of every address in every sitemap the index names."""
    index = _xml(client, index_url)
    assert index.tag == f"{{{NS['sm']}}}sitemapindex"
    entries = {}
    for location in index.findall("sm:sitemap/sm:loc", NS):
        parts = urlsplit(location.text)
        page = _xml(client, parts.path + (f"?{parts.query}" if parts.query else ""))
        assert page.tag == f"{{{NS['sm']}}}urlset"
        for url in page.findall("sm:url", NS):
            lastmod = url.find("sm:lastmod", NS)
            entries[url.find("sm:loc", NS).text] = None if lastmod is None else lastmod.text
    return entries


@pytest.fixture
def content():
    now = timezone.now()
    return {
        "article": make_article("Published article", publish_at=now - timedelta(days=2)),
        "draft": make_draft_article("Draft article"),
        "scheduled": make_scheduled_article("Scheduled article"),
        "event": make_event("Published event"),
        "draft event": make_event("Draft event", status="draft"),
        "scheduled event": make_event("Scheduled event", publish_at=now + timedelta(days=1)),
        "region": make_region("riga"),
    }


def test_sitemap_lists_every_published_article_event_region_and_the_fixed_pages(client, content):
    entries = sitemap_entries(client)
    expected_paths = {
        "/", "/news/", "/events/", "/regions/", "/regions/compare/",
        *(content[key].get_absolute_url() for key in ("article", "event", "region")),
    }
    assert {urlsplit(loc).path for loc in entries} == expected_paths
    assert all(loc.startswith("http://testserver/") for loc in entries), "absolute addresses on the request's host"


def test_sitemap_leaves_out_drafts_and_scheduled_items(client, content):
    paths = {urlsplit(loc).path for loc in sitemap_entries(client)}
    for key in ("draft", "scheduled", "draft event", "scheduled event"):
        assert content[key].get_absolute_url() not in paths, key


def test_articles_events_and_regions_carry_their_last_modification_date(client, content):
    entries = {urlsplit(loc).path: lastmod for loc, lastmod in sitemap_entries(client).items()}
    for key in ("article", "event", "region"):
        item = content[key]
        item.refresh_from_db()
        assert entries[item.get_absolute_url()] == timezone.localdate(item.updated).isoformat(), key


def test_a_scheduled_article_is_last_modified_when_it_comes_out(client):
    article = make_article("Came out today", publish_at=timezone.now() - timedelta(minutes=5))
    type(article).objects.filter(pk=article.pk).update(updated=timezone.now() - timedelta(days=30))
    entries = {urlsplit(loc).path: lastmod for loc, lastmod in sitemap_entries(client).items()}
    assert entries[article.get_absolute_url()] == timezone.localdate(article.publish_at).isoformat()


def test_index_gives_each_section_its_latest_change(client, content):
    index = _xml(client, "/sitemap.xml")
    sections = {
        urlsplit(item.find("sm:loc", NS).text).path: item.find("sm:lastmod", NS)
        for item in index.findall("sm:sitemap", NS)
    }
    assert set(sections) == {"/sitemap-pages.xml", "/sitemap-news.xml", "/sitemap-events.xml", "/sitemap-regions.xml"}
    assert sections["/sitemap-news.xml"] is not None and sections["/sitemap-regions.xml"] is not None


def test_a_large_section_is_split_into_pages_the_index_names(client, monkeypatch):
    monkeypatch.setattr(ArticleSitemap, "limit", 2)
    articles = [make_article(f"Paged article {n}") for n in range(5)]
    make_draft_article("Paged draft")
    index = _xml(client, "/sitemap.xml")
    locations = [item.text for item in index.findall("sm:sitemap/sm:loc", NS)]
    assert [loc for loc in locations if "sitemap-news" in loc] == [
        "http://testserver/sitemap-news.xml",
        "http://testserver/sitemap-news.xml?p=2",
        "http://testserver/sitemap-news.xml?p=3",
    ]
    paths = {urlsplit(loc).path for loc in sitemap_entries(client)}
    assert {article.get_absolute_url() for article in articles} <= paths
    assert "/news/paged-draft/" not in paths


def _page_paths(client, url):
    return {urlsplit(loc.text).path for loc in _xml(client, url).findall("sm:url/sm:loc", NS)}


@pytest.mark.parametrize("section, sitemap, make", [("news", ArticleSitemap, make_article), ("events", EventSitemap, make_event)])
def test_an_item_coming_out_goes_to_the_last_page_and_moves_none_between_pages(client, monkeypatch, section, sitemap, make):
    # A crawler reads page 1, then page 2 after a scheduled item made long before (the lowest
    # pk) came out: every item it could have seen is on one of the two, the new one on the last.
    monkeypatch.setattr(sitemap, "limit", 2)
    start = timezone.now()
    scheduled = make("Made long before", publish_at=start + timedelta(hours=1))
    published = [make(f"Out already {n}", publish_at=start - timedelta(days=10 - n)) for n in range(4)]
    first = _page_paths(client, f"/sitemap-{section}.xml")

    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(hours=1, seconds=1))
    second = _page_paths(client, f"/sitemap-{section}.xml?p=2")
    assert {item.get_absolute_url() for item in published} <= first | second
    assert _page_paths(client, f"/sitemap-{section}.xml?p=3") == {scheduled.get_absolute_url()}


@pytest.mark.parametrize("section, sitemap, make", [("news", ArticleSitemap, make_article), ("events", EventSitemap, make_event)])
def test_items_published_at_the_same_moment_are_each_on_one_page_in_the_order_they_were_made(client, monkeypatch, section, sitemap, make):
    # An import or a bulk publish gives many items one publish_at. Ordered by that alone,
    # PostgreSQL may give the tied rows in another order for each page's LIMIT and OFFSET, so
    # that a crawler reading every page finds some items twice and others never.
    monkeypatch.setattr(sitemap, "limit", 3)
    moment = timezone.now() - timedelta(days=1)
    items = [make(f"Same moment {n}", publish_at=moment) for n in range(10)]
    with connection.cursor() as cursor:
        # The index that gives the pages in order also gives tied rows by pk; without it (a
        # plan PostgreSQL may choose on other statistics) only the query's own order holds.
        # SET, not SET LOCAL: the test's transaction is rolled back, and the settings with it.
        for scan in ("indexscan", "indexonlyscan", "bitmapscan"):
            cursor.execute(f"SET enable_{scan} = off")
    pages = []
    for number in range(1, 5):
        page = _xml(client, f"/sitemap-{section}.xml?p={number}")
        pages += [urlsplit(loc.text).path for loc in page.findall("sm:url/sm:loc", NS)]
    assert pages == [item.get_absolute_url() for item in items]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sitemap, make", [(ArticleSitemap, make_article), (EventSitemap, make_event)])
def test_a_page_of_a_dated_section_is_read_in_its_order_from_an_index_alone(sitemap, make):
    # On a large archive a page sorted after reading every published row took 10-200 ms
    # (docs/performance.md, "Sitemaps on a large archive"). Here the table is vacuumed, as
    # autovacuum keeps a large one, and the planner kept from reading it (cheaper for a few
    # rows), so the plan shows whether an index alone can give the page.
    for number in range(3):
        make(f"Indexed {number}")
    page = sitemap().items()[:2]
    sql, params = page.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {sitemap.model._meta.db_table}")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        [explained] = cursor.fetchone()[0]
    nodes = [node["Node Type"] for node in plan_nodes(explained["Plan"])]
    assert "Index Only Scan" in nodes and "Sort" not in nodes and "Incremental Sort" not in nodes, nodes


def test_sitemap_uses_the_host_it_was_asked_on(client, settings, content):
    settings.ALLOWED_HOSTS = ["www.baltmet.example"]
    response = client.get("/sitemap-news.xml", HTTP_HOST="www.baltmet.example")
    assert b"<loc>http://www.baltmet.example/news/published-article/</loc>" in response.content


def test_robots_txt_points_to_the_sitemap_and_keeps_crawlers_out_of_the_admin(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert lines[0] == "User-agent: *"
    assert "Disallow: /admin/" in lines and "Disallow: /ckeditor/" in lines
    assert "Sitemap: http://testserver/sitemap.xml" in lines
    assert "Disallow: /" not in lines, "the public site stays crawlable"


def _djangos_sitemap(path, section):
    """The page of `section` as Django's own sitemap writes it: its template, and each address
    from get_absolute_url()."""
    sitemaps = {
        name: type(sitemap.__name__, (sitemap,), {"location": Sitemap.location}) if issubclass(sitemap, PublishableSitemap) else sitemap
        for name, sitemap in SITEMAPS.items()
    }
    response = sitemap_views.sitemap(RequestFactory().get(path, HTTP_HOST="testserver"), sitemaps, section=section)
    return response.render().content.decode()


@pytest.mark.parametrize("section", ["pages", "news", "events", "regions"])
def test_each_section_is_written_as_djangos_own_sitemap_template_writes_it(client, content, section):
    make_article("Harbour & rail: \"news\" <today>", publish_at=timezone.now() - timedelta(hours=1))
    path = f"/sitemap-{section}.xml"
    assert client.get(path).content.decode() == _djangos_sitemap(path, section)


def test_what_no_section_of_the_site_has_yet_is_written_as_django_writes_it_too(settings):
    # Times late in a UTC day (another day in the site's time zone), a date, a priority and
    # alternate languages, characters to escape, text already marked safe.
    settings.TIME_ZONE = "Europe/Berlin"
    urlset = [
        {"item": None, "location": "https://example.org/a&b/?q='x'&r=\"y\"", "changefreq": None, "priority": "",
         "lastmod": datetime(2026, 3, 1, 23, 30, tzinfo=UTC), "alternates": []},
        {"item": None, "location": "https://example.org/c/", "changefreq": "weekly", "priority": "0.5",
         "lastmod": date(987, 1, 2),
         "alternates": [{"lang_code": "de", "location": "https://example.org/de/c/"},
                        {"lang_code": "x-default", "location": "https://example.org/c/?a=1&b=2"}]},
        {"item": None, "location": "https://example.org/d/", "changefreq": None, "priority": "", "lastmod": None,
         "alternates": []},
        {"item": None, "location": mark_safe("https://example.org/e/?a=1&amp;b=2"), "changefreq": gettext_lazy("daily"),
         "priority": "0.0", "lastmod": None, "alternates": []},
    ]
    ours = render_to_string("sitemap_section.xml", {"urlset": urlset})
    assert "<lastmod>2026-03-02</lastmod>" in ours
    assert ours == render_to_string("sitemap.xml", {"urlset": urlset})


def test_the_index_gives_a_section_its_latest_publication_after_its_last_edit(client):
    # Review r29g: the index's lastmod was only checked to be there.
    article = make_article("Came out today", publish_at=timezone.now() - timedelta(minutes=5))
    Article.objects.filter(pk=article.pk).update(updated=timezone.now() - timedelta(days=30))
    index = ET.fromstring(client.get("/sitemap.xml").content)
    lastmods = {
        urlsplit(item.find("sm:loc", NS).text).path: item.find("sm:lastmod", NS).text
        for item in index.findall("sm:sitemap", NS)
        if item.find("sm:lastmod", NS) is not None
    }
    assert datetime.fromisoformat(lastmods["/sitemap-news.xml"]) == article.publish_at


def test_the_index_names_no_page_past_the_last(client, monkeypatch):
    # Four articles in pages of two: a count one too high names a third page, a 404 (review
    # r29g: five articles gave three pages either way).
    monkeypatch.setattr(ArticleSitemap, "limit", 2)
    for number in range(4):
        make_article(f"Paged article {number}")
    make_draft_article("Paged draft")
    index = ET.fromstring(client.get("/sitemap.xml").content)
    locations = [item.text for item in index.findall("sm:sitemap/sm:loc", NS) if "sitemap-news" in item.text]
    assert locations == ["http://testserver/sitemap-news.xml", "http://testserver/sitemap-news.xml?p=2"]
    for location in locations:
        parts = urlsplit(location)
        assert client.get(parts.path + (f"?{parts.query}" if parts.query else "")).status_code == 200
