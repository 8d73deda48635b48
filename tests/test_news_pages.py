"""The public news and event pages: what they show, and how the news list pages."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from baltmet import renditions
from regions.models import Region
from tests.html_inspect import elements
from tests.news_factories import make_article, make_event, make_past_event, make_topic
from tests.page_text import main_of
from tests.subprocess_env import pages_on_sqlite, with_todays_noon
from tests.upload_files import image_bytes, upload

pytestmark = pytest.mark.django_db


def _html(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def _titles_in_order(html, titles):
    positions = [html.index(title) for title in titles]
    return positions == sorted(positions)


def _make_dated_articles(number):
    """`number` published articles, "News 1" the oldest, one day apart."""
    now = timezone.now()
    return [
        make_article(f"News {index}", publish_at=now - timedelta(days=number - index + 1))
        for index in range(1, number + 1)
    ]


def test_news_list_shows_newest_first_with_date_lead_and_read_more(client):
    older = make_article("Older item", publish_at=timezone.now() - timedelta(days=9))
    newer = make_article("Newer item", publish_at=timezone.now() - timedelta(days=2), lead="A fresh teaser.")
    html = _html(client, "/news/")
    assert _titles_in_order(html, [newer.title, older.title])
    assert "A fresh teaser." in html
    assert f'href="{newer.get_absolute_url()}"' in html
    assert f'<time datetime="{timezone.localtime(newer.publish_at).isoformat(timespec="seconds")}">' in html
    assert "Read more" in html


def test_news_list_shows_ten_per_page_and_the_rest_on_page_two(client):
    _make_dated_articles(12)
    first = _html(client, "/news/")
    assert all(f">News {n}</a>" in first for n in range(3, 13))
    assert ">News 2</a>" not in first and ">News 1</a>" not in first
    second = _html(client, "/news/?page=2")
    assert ">News 2</a>" in second and ">News 1</a>" in second
    assert ">News 3</a>" not in second


def test_pagination_links_carry_rel_and_labels(client):
    _make_dated_articles(21)
    middle = _html(client, "/news/?page=2")
    links = {attrs.get("rel"): attrs for tag, attrs in elements(middle) if tag == "a" and attrs.get("rel")}
    assert links["next"]["href"] == "?page=3"
    assert links["prev"]["href"] == "/news/", "page 1 is the list's own address"
    assert "Next page" in links["next"]["aria-label"] and "Previous page" in links["prev"]["aria-label"]
    assert 'aria-label="News pages"' in middle
    assert "Page 2 of 3" in middle


def test_last_page_can_be_asked_for_by_number_and_by_name(client):
    _make_dated_articles(11)
    assert ">News 1</a>" in _html(client, "/news/?page=2")
    assert ">News 1</a>" in _html(client, "/news/?page=last")


@pytest.mark.parametrize("page", ["3", "0", "-1", "abc", "1.5", "99999999999999999999"])
def test_page_out_of_range_or_not_a_number_is_a_404(client, page):
    _make_dated_articles(11)
    assert client.get(f"/news/?page={page}").status_code == 404


def test_empty_news_list_is_a_page_not_a_404(client):
    html = _html(client, "/news/")
    assert "No news yet." in html
    assert client.get("/news/?page=2").status_code == 404


def test_news_pages_have_one_h1_and_advertise_both_feeds(client):
    article = make_article("Feeds are linked")
    topic = make_topic("Innovation")
    for url in ("/news/", article.get_absolute_url(), topic.get_absolute_url()):
        tags = elements(_html(client, url))
        assert [tag for tag, _ in tags].count("h1") == 1, url
        alternates = {
            attrs["type"]: attrs["href"] for tag, attrs in tags if tag == "link" and attrs.get("rel") == "alternate"
        }
        assert alternates == {"application/rss+xml": "/news/feed/", "application/atom+xml": "/news/feed/atom/"}, url


def test_article_page_shows_title_date_lead_body_topics_regions_and_event(client):
    topic = make_topic("Cluster development")
    event = make_event("Cluster conference", city="Berlin", country="Germany")
    article = make_article(
        "Conference report",
        lead="It took place in Berlin.",
        body='<p>Full <strong>report</strong>.</p><script>alert("x")</script>',
        topics=[topic],
        event=event,
    )
    html = _html(client, article.get_absolute_url())
    assert "<h1>Conference report</h1>" in html
    assert article.publish_at.strftime("%Y") in html and "<time datetime=" in html
    assert "It took place in Berlin." in html
    assert "<p>Full <strong>report</strong>.</p>" in html, "the sanitised body is rendered as HTML"
    assert "<script>" not in html and "alert(" not in html
    assert f'href="{topic.get_absolute_url()}">Cluster development</a>' in html
    assert f'href="{event.get_absolute_url()}">Cluster conference</a>' in html
    assert "Berlin, Germany" in html


def test_article_page_links_its_regions(client):
    region = Region.objects.create(name="Oslo", slug="oslo", country="Norway")
    article = make_article("Oslo news", regions=[region])
    html = _html(client, article.get_absolute_url())
    assert f'href="{region.get_absolute_url()}">Oslo</a>' in html


@pytest.mark.parametrize("status", ["published", "draft"])
def test_article_page_lists_its_topics_and_regions_in_name_order_for_the_public_and_in_previews(
    client, staff_user, status
):
    # The public's page is read in one query and a staff preview as for_page() reads it.
    topics = [make_topic(name) for name in ("Smart city", "Cluster development", "Life science")]
    regions = [Region.objects.create(name=name, slug=name.lower(), country="") for name in ("Riga", "Berlin")]
    article = make_article("Tagged news", topics=topics, regions=regions, status=status)
    if status == "draft":
        client.force_login(staff_user)
    tags = elements(_html(client, article.get_absolute_url()))
    hrefs = [attrs["href"] for tag, attrs in tags if tag == "a"]
    links = [href for href in hrefs if href.startswith(("/news/topic/", "/regions/")) and href != "/regions/"]
    assert links == [
        "/news/topic/cluster-development/",
        "/news/topic/life-science/",
        "/news/topic/smart-city/",
        "/regions/berlin/",
        "/regions/riga/",
    ]


def test_article_lead_image_is_shown_with_its_alt_text(client):
    picture = upload("picture.png", image_bytes("PNG", (400, 300)), "image/png")
    article = make_article("With a picture", image=picture, image_alt="Conference hall in Berlin")
    tags = elements(_html(client, article.get_absolute_url()))
    [image] = [attrs for tag, attrs in tags if tag == "img"]
    # Its renditions (tests/test_performance_renditions.py), the upload being no wider than 400.
    assert re.fullmatch(rf"/media/renditions/{renditions.ENCODING}/{re.escape(article.image.name)}-400w\.[0-9a-f]{{12}}\.png", image["src"])
    assert image["alt"] == "Conference hall in Berlin"


def test_unknown_article_is_a_404(client):
    assert client.get("/news/no-such-article/").status_code == 404


def test_topic_page_lists_only_that_topics_news(client):
    topic = make_topic("Cluster development")
    inside = make_article("Inside the topic", topics=[topic])
    outside = make_article("Outside the topic")
    html = _html(client, topic.get_absolute_url())
    assert "<h1>News: Cluster development</h1>" in html
    assert inside.title in html
    assert outside.title not in html


def test_topic_page_is_paginated_like_the_news_list(client):
    topic = make_topic("Busy topic")
    for article in _make_dated_articles(11):
        article.topics.add(topic)
    assert ">News 1</a>" not in _html(client, topic.get_absolute_url())
    assert ">News 1</a>" in _html(client, topic.get_absolute_url() + "?page=2")
    assert client.get(topic.get_absolute_url() + "?page=3").status_code == 404


def test_unknown_topic_is_a_404(client):
    assert client.get("/news/topic/no-such-topic/").status_code == 404


def test_events_page_lists_upcoming_events_before_past_ones_with_dates_place_and_organisers(client):
    past = make_past_event("Past workshop", city="St. Petersburg", country="Russia")
    upcoming = make_event("Coming conference", city="Berlin", country="Germany", organisers="TSB and WISTA")
    html = _html(client, "/events/")
    upcoming_section, past_section = html.split('id="past-events"', 1)
    assert upcoming.title in upcoming_section and past.title not in upcoming_section
    assert past.title in past_section
    assert "Berlin, Germany" in upcoming_section and "Organised by TSB and WISTA" in upcoming_section
    assert "St. Petersburg, Russia" in past_section
    assert f'<time datetime="{timezone.localtime(upcoming.starts).isoformat(timespec="seconds")}"' in upcoming_section


def test_events_page_orders_upcoming_soonest_first_and_past_latest_first(client):
    now = timezone.now()
    make_event("Later", starts=now + timedelta(days=20))
    make_event("Sooner", starts=now + timedelta(days=2))
    make_event("Long ago", starts=now - timedelta(days=90))
    make_event("Recently", starts=now - timedelta(days=9))
    html = _html(client, "/events/")
    assert _titles_in_order(html, [">Sooner<", ">Later<", ">Recently<", ">Long ago<"])


def test_events_page_has_one_h1_and_links_the_subscribable_calendar(client):
    tags = elements(_html(client, "/events/"))
    assert [tag for tag, _ in tags].count("h1") == 1
    assert ("a", {"href": "/events/calendar.ics"}) in tags
    calendar_link = {
        "rel": "alternate",
        "type": "text/calendar",
        "title": "BaltMet Inno events (iCalendar)",
        "href": "/events/calendar.ics",
    }
    assert ("link", calendar_link) in tags


def test_event_page_shows_everything_about_the_event(client):
    region = Region.objects.create(name="Berlin", slug="berlin", country="Germany")
    event = make_event(
        "Cluster conference",
        venue="Adlershof",
        city="Berlin",
        country="Germany",
        organisers="TSB Innovationsagentur Berlin GmbH",
        lead="The final conference.",
        body="<p>Programme <em>soon</em>.</p>",
        registration_url="https://example.org/register",
        region=region,
    )
    news = make_article("Report from the conference", event=event)
    html = _html(client, event.get_absolute_url())
    assert "<h1>Cluster conference</h1>" in html
    assert "Adlershof, Berlin, Germany" in html
    assert "TSB Innovationsagentur Berlin GmbH" in html
    assert "The final conference." in html and "<p>Programme <em>soon</em>.</p>" in html
    assert 'href="https://example.org/register"' in html
    assert f'href="{region.get_absolute_url()}">Berlin</a>' in html
    assert f'href="{news.get_absolute_url()}">Report from the conference</a>' in html
    assert f'href="/events/{event.slug}.ics"' in html
    assert f'datetime="{timezone.localtime(event.starts).isoformat(timespec="seconds")}"' in html


def test_all_day_event_shows_dates_without_times(client):
    site_tz = timezone.get_default_timezone()
    starts = timezone.make_aware(timezone.datetime(2007, 6, 13), site_tz)
    event = make_event("Workshops", starts=starts, ends=starts + timedelta(days=2), all_day=True)
    html = _html(client, event.get_absolute_url())
    assert '<time datetime="2007-06-13">13 June 2007</time> – <time datetime="2007-06-15">15 June 2007</time>' in html


def test_unknown_event_is_a_404(client):
    assert client.get("/events/no-such-event/").status_code == 404


# SQLite, the zero-setup default of `make run`, reads these pages with the ORM's querysets
# where PostgreSQL runs prepared statements (JSON arrays for the article's topics and regions).

# Run in both databases: two pages of news, in a topic and a region (`noon` comes from
# with_todays_noon).
MORE_NEWS = """
from datetime import timedelta
from news.models import Article, Topic
from baltmet import renditions
from regions.models import Region
topic = Topic.objects.create(name="Smart city", slug="smart-city")
oslo = Region.objects.get(slug="oslo")
for day in range(1, 13):
    article = Article.objects.create(
        title=f"Smart city news {day}", slug=f"smart-city-news-{day}", lead="What happened.",
        status="published", publish_at=noon - timedelta(days=day),
    )
    article.topics.add(topic)
    article.regions.add(oslo)
"""

NEWS_PAGES = [
    "/",
    "/news/",
    "/news/?page=2",
    "/news/topic/smart-city/",
    "/news/topic/smart-city/?page=2",
    "/news/smart-city-news-1/",
    "/news/wp3-cluster-development-final-conference/",
    "/events/",
    "/events/wp3-final-conference-berlin-2007/",
    "/events/wp3-final-conference-berlin-2007/news/",
]


def test_on_sqlite_the_news_pages_show_the_same_as_on_postgresql(client, tmp_path):
    setup = with_todays_noon(MORE_NEWS)
    on_sqlite = pages_on_sqlite(tmp_path, ["regions_seed", "news_seed"], NEWS_PAGES, setup=setup)

    call_command("loaddata", "regions_seed", "news_seed", verbosity=0)
    exec(setup)
    for url in NEWS_PAGES:
        status, html = on_sqlite[url]
        on_postgresql = main_of(_html(client, url))
        assert status == 200, url
        assert main_of(html) == on_postgresql, url
    assert "Smart city news 11" in main_of(on_sqlite["/news/topic/smart-city/?page=2"][1])
    article = main_of(on_sqlite["/news/smart-city-news-1/"][1])
    assert 'href="/news/topic/smart-city/"' in article and 'href="/regions/oslo/"' in article
