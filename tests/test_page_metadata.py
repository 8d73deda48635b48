"""What search engines and link previews read in a page's head: title, description, canonical
address, Open Graph tags and schema.org JSON-LD."""

import json
import re
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from tests.news_factories import make_article, make_event, make_topic
from tests.regions_factories import make_region
from tests.upload_files import png

pytestmark = pytest.mark.django_db


class _Head(HTMLParser):
    def __init__(self):
        super().__init__()
        self.title = None
        self.meta = {}
        self.links = {}
        self.json_ld = []
        self._in = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "title":
            self._in, self.title = "title", ""
        elif tag == "meta" and ("name" in attrs or "property" in attrs):
            key = attrs.get("property") or attrs.get("name")
            assert key not in self.meta, f"<meta {key}> twice"
            self.meta[key] = attrs.get("content")
        elif tag == "link" and attrs.get("rel") == "canonical":
            assert "canonical" not in self.links, "two canonical links"
            self.links["canonical"] = attrs["href"]
        elif tag == "script" and attrs.get("type") == "application/ld+json":
            self._in = "json"
            self.json_ld.append("")

    def handle_data(self, data):
        if self._in == "title":
            self.title += data
        elif self._in == "json":
            self.json_ld[-1] += data

    def handle_endtag(self, tag):
        if tag in ("title", "script"):
            self._in = None


def head(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.content.decode()
    parser = _Head()
    parser.feed(html.split("</head>", 1)[0])
    parser.data = [json.loads(block) for block in parser.json_ld]
    return parser


@pytest.fixture
def article():
    return make_article(
        "Harbour innovation week",
        lead="Three days on maritime clusters in Oslo.",
        body="<p>Body text.</p>",
        image=png("harbour.png"),
        image_alt="Boats in the harbour",
        publish_at=timezone.make_aware(datetime(2024, 5, 6, 9, 30)),
    )


def test_article_page_metadata(client, article):
    page = head(client, article.get_absolute_url())
    url = "http://testserver/news/harbour-innovation-week/"
    assert page.title == "Harbour innovation week | BaltMet Inno"
    assert page.meta["description"] == "Three days on maritime clusters in Oslo."
    assert page.links["canonical"] == url
    assert page.meta["og:title"] == "Harbour innovation week"
    assert page.meta["og:description"] == "Three days on maritime clusters in Oslo."
    assert page.meta["og:type"] == "article"
    assert page.meta["og:url"] == url
    assert page.meta["og:site_name"] == "BaltMet Inno"
    assert page.meta["og:image"] == f"http://testserver{article.image.url}"
    assert page.meta["og:image"].startswith("http://testserver/media/")
    assert page.meta["og:image:alt"] == "Boats in the harbour"
    assert page.meta["twitter:card"] == "summary_large_image"
    assert page.meta["article:published_time"] == "2024-05-06T09:30:00+02:00"


def test_article_json_ld_is_a_news_article(client, article):
    [data] = head(client, article.get_absolute_url()).data
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == "Harbour innovation week"
    assert data["description"] == "Three days on maritime clusters in Oslo."
    assert data["url"] == data["mainEntityOfPage"] == "http://testserver/news/harbour-innovation-week/"
    assert datetime.fromisoformat(data["datePublished"]) == article.publish_at
    assert datetime.fromisoformat(data["dateModified"]) >= article.publish_at
    assert data["image"] == [f"http://testserver{article.image.url}"]
    assert data["publisher"] == {"@type": "Organization", "name": "BaltMet Inno", "url": "http://testserver/"}
    assert data["author"]["@type"] == "Organization"


def test_article_without_image_has_no_image_tags(client):
    article = make_article("No picture", lead="Words only.")
    page = head(client, article.get_absolute_url())
    assert "og:image" not in page.meta and "image" not in page.data[0]
    assert page.meta["twitter:card"] == "summary"


def test_json_ld_cannot_be_broken_out_of_by_content(client):
    title = 'Evil </script><script>alert(1)</script> & <!-- "quotes"'
    article = make_article(title, slug="evil", lead="</SCRIPT> lead")
    html = client.get(article.get_absolute_url()).content.decode()
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    assert "<" not in block and ">" not in block
    data = json.loads(block)
    assert data["headline"] == title and data["description"] == "</SCRIPT> lead"
    assert "<script>alert(1)" not in html


def test_event_page_metadata_and_json_ld_for_an_all_day_event(client):
    event = make_event(
        "Open Days seminar",
        lead="A seminar at the Open Days.",
        all_day=True,
        starts=timezone.make_aware(datetime(2031, 10, 9, 0, 0)),
        ends=timezone.make_aware(datetime(2031, 10, 10, 23, 59)),
        venue="Committee of the Regions",
        city="Brussels",
        country="Belgium",
        organisers="BaltMet Inno and the Baltic Sea Commission",
    )
    page = head(client, event.get_absolute_url())
    assert page.title == "Open Days seminar | BaltMet Inno"
    assert page.meta["description"] == "A seminar at the Open Days."
    assert page.links["canonical"] == "http://testserver/events/open-days-seminar/"
    assert page.meta["og:title"] == "Open Days seminar" and page.meta["og:url"] == page.links["canonical"]
    [data] = page.data
    assert data["@context"] == "https://schema.org" and data["@type"] == "Event"
    assert data["name"] == "Open Days seminar"
    assert (data["startDate"], data["endDate"]) == ("2031-10-09", "2031-10-10"), "dates only for an all-day event"
    assert data["eventStatus"] == "https://schema.org/EventScheduled"
    assert data["location"] == {
        "@type": "Place",
        "name": "Committee of the Regions",
        "address": {"@type": "PostalAddress", "addressLocality": "Brussels", "addressCountry": "Belgium"},
    }
    assert data["organizer"] == {"@type": "Organization", "name": "BaltMet Inno and the Baltic Sea Commission"}
    assert data["description"] == "A seminar at the Open Days."
    assert data["url"] == "http://testserver/events/open-days-seminar/"


def test_timed_event_json_ld_has_date_times_with_the_offset(client):
    starts = timezone.make_aware(datetime(2031, 3, 4, 14, 0))
    event = make_event("Matchmaking", starts=starts, ends=starts + timedelta(hours=3), city="Tallinn")
    [data] = head(client, event.get_absolute_url()).data
    assert data["startDate"] == "2031-03-04T14:00:00+01:00"
    assert data["endDate"] == "2031-03-04T17:00:00+01:00"
    assert data["location"]["name"] == "Tallinn"


def test_event_without_a_place_has_no_location(client):
    event = make_event("Webinar")
    [data] = head(client, event.get_absolute_url()).data
    assert "location" not in data


def test_region_page_metadata(client):
    region = make_region("oslo", country="Norway", lead="Capital of Norway, with five priority clusters.",
                         image=png("fjord.png"), image_alt="The Oslofjord")
    page = head(client, region.get_absolute_url())
    assert page.title == "Oslo | BaltMet Inno"
    assert page.meta["description"] == "Capital of Norway, with five priority clusters."
    assert page.links["canonical"] == "http://testserver/regions/oslo/"
    assert page.meta["og:title"] == "Oslo"
    assert page.meta["og:type"] == "website"
    assert page.meta["og:description"] == page.meta["description"]
    assert page.meta["og:image"] == f"http://testserver{region.image.url}"
    assert page.data == [], "no JSON-LD is claimed for a region"


def test_every_page_has_a_unique_title_a_description_and_a_canonical_address(client):
    now = timezone.now()
    topic = make_topic("Cluster development", description="News about clusters.")
    for n in range(12):
        make_article(f"News item {n}", topics=[topic], publish_at=now - timedelta(days=n + 1))
    for n in range(22):
        starts = now - timedelta(days=n + 10)
        make_event(f"Past event {n}", starts=starts, ends=starts + timedelta(hours=1))
    event = make_event("Coming event")
    region = make_region("riga")
    urls = [
        "/", "/news/", "/news/?page=2", topic.get_absolute_url(), f"{topic.get_absolute_url()}?page=2",
        "/news/news-item-0/", "/events/", "/events/?page=2", event.get_absolute_url(), "/regions/",
        region.get_absolute_url(), "/regions/compare/", "/search/", "/search/?q=news", "/search/?q=news&page=2",
    ]
    titles = {}
    for url in urls:
        page = head(client, url)
        assert page.title and page.title not in titles, f"{url} has the title of {titles.get(page.title)}"
        titles[page.title] = url
        assert page.meta.get("description", "").strip(), url
        assert page.links["canonical"].startswith("http://testserver/"), url
        assert page.meta["og:title"] and page.meta["og:description"] and page.meta["og:url"], url


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("/news/", "http://testserver/news/"),
        ("/news/?page=1", "http://testserver/news/"),
        ("/news/?page=2", "http://testserver/news/?page=2"),
        ("/news/?utm_source=mail&page=2", "http://testserver/news/?page=2"),
        ("/regions/compare/?region=riga", "http://testserver/regions/compare/"),
        ("/search/?q=news&page=2&ref=x", "http://testserver/search/?q=news&page=2"),
        ("/search/?q=life+%22sciences%22", "http://testserver/search/?q=life+%22sciences%22"),
    ],
)
def test_canonical_address_keeps_only_the_page_number_and_the_query(client, url, canonical):
    for n in range(12):
        make_article(f"News item {n}")
    make_region("riga")
    assert head(client, url).links["canonical"] == canonical
