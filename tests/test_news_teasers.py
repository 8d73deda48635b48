"""Teasers and event dates written in Python (news.teasers) are the markup the partial
templates wrote, for every kind of article and event; the dates are the `date` filter's."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from news import teasers
from news.models import Article, Event
from tests.news_factories import make_article
from tests.upload_files import image_bytes, upload

# The partials as they were before the teasers moved to news.teasers: the reference.
FORMER_EVENT_DATES = (
    "{% if event.all_day %}<time datetime=\"{{ event.starts|date:'Y-m-d' }}\">{{ event.starts|date:\"j F Y\" }}</time>"
    "{% if event.ends|date:\"Y-m-d\" != event.starts|date:\"Y-m-d\" %} – <time datetime=\"{{ event.ends|date:'Y-m-d' }}\">"
    "{{ event.ends|date:\"j F Y\" }}</time>{% endif %}{% else %}<time datetime=\"{{ event.starts|html_datetime }}\">"
    "{{ event.starts|date:\"j F Y, H:i\" }}</time> – <time datetime=\"{{ event.ends|html_datetime }}\">"
    "{% if event.ends|date:\"Y-m-d\" == event.starts|date:\"Y-m-d\" %}{{ event.ends|date:\"H:i\" }}"
    "{% else %}{{ event.ends|date:\"j F Y, H:i\" }}{% endif %}</time>{% endif %}"
)
FORMER_EVENT_TEASER = """<article class="teaser">
  <{{ heading|default:"h2" }}><a href="{{ event.get_absolute_url }}">{{ event.title }}</a></{{ heading|default:"h2" }}>
  <p class="meta">%s{%% if event.place %%} · {{ event.place }}{%% endif %%}</p>
  {%% if event.organisers %%}<p class="meta">Organised by {{ event.organisers }}</p>{%% endif %%}
  {%% if event.lead %%}<p>{{ event.lead }}</p>{%% endif %%}
</article>""" % FORMER_EVENT_DATES
FORMER_ARTICLE_TEASER = """<article class="teaser">
  <{{ heading|default:"h2" }}><a href="{{ article.get_absolute_url }}">{{ article.title }}</a></{{ heading|default:"h2" }}>
  <p class="meta"><time datetime="{{ article.publish_at|html_datetime }}">{{ article.publish_at|date:"j F Y" }}</time></p>
  {% if article.image %}{% responsive_image article.image article.image_alt "(min-width: 25rem) 10rem, 40vw" "teaser-image" %}{% endif %}
  {% if article.lead %}<p>{{ article.lead }}</p>{% endif %}
  <p><a class="read-more" href="{{ article.get_absolute_url }}">Read more<span class="visually-hidden">: {{ article.title }}</span></a></p>
</article>"""

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")


def former(source, **context):
    return Template("{% load html_dates renditions %}" + source).render(Context(context))


def same_markup(html):
    return re.sub(r"\s+", " ", html).replace("> <", "><").strip()


MOMENTS = [
    datetime(2024, 1, 1, 0, 0, tzinfo=UTC),
    datetime(2024, 3, 30, 23, 30, tzinfo=UTC),  # the next day in Berlin
    datetime(2024, 3, 31, 1, 5, tzinfo=UTC),  # summer time starts
    datetime(2024, 10, 27, 0, 59, 59, 999999, tzinfo=UTC),
    datetime(2025, 12, 31, 23, 0, tzinfo=UTC),  # New Year in Berlin
    datetime(2026, 7, 9, 8, 7, 6, 123456, tzinfo=BERLIN),
]


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("zone", ["Europe/Berlin", "UTC", "America/New_York"])
def test_dates_are_written_as_the_date_filter_writes_them(moment, zone):
    with timezone.override(zone):
        local = timezone.localtime(moment)
        assert teasers._Lookups().day(local) == former('{{ m|date:"j F Y" }}', m=moment)
        assert teasers._iso_day(local) == former('{{ m|date:"Y-m-d" }}', m=moment)
        assert teasers._time(local) == former('{{ m|date:"H:i" }}', m=moment)
        assert teasers._iso(local) == former("{{ m|html_datetime }}", m=moment)


def test_month_names_are_translated_as_the_date_filter_translates_them():
    moment = datetime(2024, 5, 3, 12, tzinfo=UTC)
    with translation.override("de"):
        assert teasers._Lookups().day(timezone.localtime(moment)) == former('{{ m|date:"j F Y" }}', m=moment)


def _events():
    start = datetime(2026, 5, 4, 9, 30, tzinfo=BERLIN)
    shapes = [
        {"all_day": True, "ends": start},
        {"all_day": True, "ends": start + timedelta(days=2)},
        {"all_day": False, "ends": start + timedelta(hours=3)},
        {"all_day": False, "ends": start + timedelta(days=1, hours=2)},
        {"all_day": False, "ends": start.replace(hour=23, minute=59)},
    ]
    details = [
        {},
        {"venue": "Hall <A>", "city": "Riga", "country": "Latvia", "organisers": "R&D Agency", "lead": "A \"lead\"."},
        {"city": "Oslo", "lead": "Only a city."},
    ]
    for number, (shape, detail) in enumerate((s, d) for s in shapes for d in details):
        yield Event(title=f"Event <{number}> & co", slug=f"event-{number}", starts=start, **shape, **detail)


@pytest.mark.parametrize("event", list(_events()), ids=lambda event: event.slug)
@pytest.mark.parametrize("heading", ["h2", "h3", "h4", ""])
def test_event_teaser_is_the_former_partial(event, heading):
    assert same_markup(teasers.event_teaser(event, heading)) == same_markup(
        former(FORMER_EVENT_TEASER, event=event, heading=heading)
    )
    assert teasers.event_dates(event) == former(FORMER_EVENT_DATES, event=event)


@pytest.mark.parametrize("lead", ["", "A lead with <markup> & \"quotes\"."])
@pytest.mark.parametrize("heading", ["h2", "h3", ""])
def test_article_teaser_is_the_former_partial(lead, heading):
    article = Article(
        title="Riga's <b>cluster</b> & more", slug="rigas-cluster", lead=lead, publish_at=MOMENTS[1]
    )
    assert same_markup(teasers.article_teasers([article], heading)) == same_markup(
        former(FORMER_ARTICLE_TEASER, article=article, heading=heading)
    )


@pytest.mark.django_db
def test_an_article_teaser_with_an_image_is_the_former_partial():
    # Review r29g: every article compared had no image.
    article = make_article(
        "Harbour news", image=upload("harbour.jpg", image_bytes("JPEG", (1200, 800)), "image/jpeg"),
        image_alt="The harbour", lead="A lead.",
    )
    article = Article.objects.get(pk=article.pk)
    ours = teasers.article_teasers([article])
    assert "<img" in ours
    assert same_markup(ours) == same_markup(former(FORMER_ARTICLE_TEASER, article=article, heading="h2"))


@pytest.mark.parametrize(
    "starts, ends",
    [
        # 23:30 to 01:30 in Berlin: two days there, one in UTC
        (datetime(2026, 5, 4, 21, 30, tzinfo=UTC), datetime(2026, 5, 4, 23, 30, tzinfo=UTC)),
        # 00:30 to 02:00 in Berlin: one day there, two in UTC
        (datetime(2026, 5, 4, 22, 30, tzinfo=UTC), datetime(2026, 5, 5, 0, 0, tzinfo=UTC)),
    ],
)
def test_an_event_across_midnight_is_dated_in_the_sites_time_zone_as_the_former_partial(starts, ends):
    # As loaded from the database, in UTC (review r29g: every event compared was in Berlin's time).
    event = Event(title="Evening reception", slug="reception", starts=starts, ends=ends, all_day=False)
    assert same_markup(teasers.event_teaser(event)) == same_markup(former(FORMER_EVENT_TEASER, event=event, heading="h2"))


def test_a_teaser_heading_is_a_heading_element():
    with pytest.raises(ValueError):
        teasers.article_teasers([Article(title="x", slug="x", publish_at=MOMENTS[0])], "div onclick=x")



def test_a_list_of_teasers_is_each_teaser_in_turn():
    articles = [Article(title=f"Item {month}", slug=f"item-{month}", publish_at=MOMENTS[month]) for month in range(4)]
    events = list(_events())
    assert teasers.article_teasers(articles, "h3") == "\n".join(
        teasers.article_teasers([article], "h3") for article in articles
    )
    assert teasers.event_teasers(events, "h4") == "\n".join(teasers.event_teaser(event, "h4") for event in events)
    assert teasers.article_teasers([]) == ""


def test_a_list_of_teasers_is_written_in_the_time_zone_and_language_of_its_moment():
    # The lookups a list shares are made when it is written, not kept from an earlier list.
    articles = [Article(title="x", slug="x", publish_at=moment) for moment in MOMENTS]
    for zone, language in [("Europe/Berlin", "de"), ("America/New_York", "en"), ("UTC", "fr")]:
        with timezone.override(zone), translation.override(language):
            expected = "".join(former(FORMER_ARTICLE_TEASER, article=article, heading="h2") for article in articles)
            assert same_markup(teasers.article_teasers(articles)) == same_markup(expected)
