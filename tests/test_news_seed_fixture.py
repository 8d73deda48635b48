"""The news seed fixture: the four news items of the old site's page and their three events."""

import feedparser
import pytest
from django.core.management import call_command
from django.utils.html import escape
from icalendar import Calendar

from news.models import Article, Event, Topic

pytestmark = pytest.mark.django_db

ARTICLES = [
    # Newest first, as on the old site's "latest news" column.
    {
        "slug": "wp3-cluster-development-final-conference",
        "title": 'BaltMet Inno WP 3 "Cluster Development" final event conference',
        "lead": (
            'On November 13th BaltMet Inno WP 3 "Cluster Development" conference "Transnational Cluster '
            'Alliances - Connecting Neighbours in the Baltic Sea Region" hosted by TSB Innovationsagentur '
            "Berlin GmbH in cooperation with WISTA MANAGEMENT GMBH took place in Berlin"
        ),
        "event": "wp3-final-conference-berlin-2007",
    },
    {
        "slug": "baltmet-inno-seminar-open-days-brussels-2007",
        "title": "Balt Met Inno seminar in the framework of Open Days in Brussels on 9th October 2007.",
        "lead": "",
        "event": "open-days-seminar-brussels-2007",
    },
    {
        "slug": "seminar-at-open-days-brussels-9-october-2007",
        "title": "Seminar at Open Days in Brussels on 9 October 2007",
        "lead": (
            "In collaboration with the Baltic Sea Group, BaltMet Inno will arrange the seminar "
            '"Boosting Innovation through Metropolitan Partnership".'
        ),
        "event": "open-days-seminar-brussels-2007",
    },
    {
        "slug": "baltmet-inno-workshops-st-petersburg-june-2007",
        "title": "BaltMet Inno Workshops in St. Petersburg, 13-15 June 2007",
        "lead": (
            "From 13 - 15 June, the City of St. Petersburg hosted a number of BaltMet Inno workshops "
            "and BaltMet network meetings."
        ),
        "event": "st-petersburg-workshops-2007",
    },
]

EVENTS = {
    "wp3-final-conference-berlin-2007": {
        "title": "Transnational Cluster Alliances - Connecting Neighbours in the Baltic Sea Region",
        "dates": '<time datetime="2007-11-13">13 November 2007</time>',
        "place": "Berlin, Germany",
        "organisers": "TSB Innovationsagentur Berlin GmbH in cooperation with WISTA Management GmbH",
    },
    "open-days-seminar-brussels-2007": {
        "title": "Boosting Innovation through Metropolitan Partnership",
        "dates": '<time datetime="2007-10-09">9 October 2007</time>',
        "place": "Brussels, Belgium",
        "organisers": "BaltMet Inno in collaboration with the Baltic Sea Group",
    },
    "st-petersburg-workshops-2007": {
        "title": "BaltMet Inno Workshops in St. Petersburg",
        "dates": '<time datetime="2007-06-13">13 June 2007</time> – <time datetime="2007-06-15">15 June 2007</time>',
        "place": "St. Petersburg, Russia",
        "organisers": "the City of St. Petersburg",
    },
}


@pytest.fixture
def seeded(db):
    call_command("loaddata", "news_seed", verbosity=0)


def _html(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_seed_loads_every_item_published(seeded):
    assert Article.objects.published().count() == 4
    assert Event.objects.published().count() == 3
    assert list(Topic.objects.values_list("slug", flat=True)) == ["cluster-development"]


def test_loading_the_seed_twice_does_not_duplicate_anything(seeded):
    call_command("loaddata", "news_seed", verbosity=0)
    assert (Topic.objects.count(), Event.objects.count(), Article.objects.count()) == (1, 3, 4)
    assert Article.objects.get(slug=ARTICLES[0]["slug"]).topics.count() == 1


def test_seed_articles_keep_the_old_sites_titles_leads_and_events(seeded):
    for expected in ARTICLES:
        article = Article.objects.get(slug=expected["slug"])
        assert article.title == expected["title"]
        assert article.lead == expected["lead"]
        assert article.event.slug == expected["event"]


def test_home_page_lists_the_seed_news_newest_first_as_the_old_site_did(client, seeded):
    html = _html(client, "/")
    positions = [html.index(escape(item["title"])) for item in ARTICLES]
    assert positions == sorted(positions)
    for item in ARTICLES:
        assert escape(item["lead"]) in html
    assert html.count("Read more<span") == 4


def test_article_pages_show_the_seed_facts_and_link_their_event(client, seeded):
    for item in ARTICLES:
        html = _html(client, f"/news/{item['slug']}/")
        assert f"<h1>{escape(item['title'])}</h1>" in html
        assert escape(item["lead"]) in html
        assert f'href="/events/{item["event"]}/"' in html
    wp3 = _html(client, f"/news/{ARTICLES[0]['slug']}/")
    assert 'href="/news/topic/cluster-development/">Cluster development</a>' in wp3


def test_events_page_shows_the_three_seed_events_with_dates_places_and_organisers(client, seeded):
    html = _html(client, "/events/")
    past = html.split('id="past-events"', 1)[1]
    for slug, facts in EVENTS.items():
        assert escape(facts["title"]) in past
        assert facts["dates"] in past
        assert facts["place"] in past
        assert f"Organised by {facts['organisers']}" in past
    positions = [past.index(escape(EVENTS[slug]["title"])) for slug in EVENTS]
    assert positions == sorted(positions), "latest past event first"


def test_event_pages_show_the_seed_facts_and_the_news_about_them(client, seeded):
    for slug, facts in EVENTS.items():
        html = _html(client, f"/events/{slug}/")
        assert f"<h1>{escape(facts['title'])}</h1>" in html
        assert facts["dates"] in html and facts["place"] in html and facts["organisers"] in html
        for item in ARTICLES:
            if item["event"] == slug:
                assert f'href="/news/{item["slug"]}/"' in html


def test_seed_events_are_in_the_calendar(client, seeded):
    calendar = Calendar.from_ical(client.get("/events/calendar.ics").content)
    assert sorted(str(vevent["SUMMARY"]) for vevent in calendar.walk("VEVENT")) == sorted(
        facts["title"] for facts in EVENTS.values()
    )


def test_seed_news_are_in_the_feed(client, seeded):
    feed = feedparser.parse(client.get("/news/feed/").content)
    assert [entry.title for entry in feed.entries] == [item["title"] for item in ARTICLES]
