"""The events page and an event's news page in pages: no page grows with the number of events
or articles."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from news import views
from news.models import Event, EventQuerySet
from tests.news_factories import make_article, make_draft_article, make_event
from tests.page_text import main_of
from tests.subprocess_env import pages_on_sqlite, with_todays_noon

pytestmark = pytest.mark.django_db


def _page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return main_of(response.content.decode())


def _sections(html):
    """The upcoming and the past events section of an events page, each None where it has none."""
    upcoming = past = None
    if 'id="upcoming-events"' in html:
        upcoming = html.split('id="upcoming-events"', 1)[1].split("</section>", 1)[0]
    if 'id="past-events"' in html:
        past = html.split('id="past-events"', 1)[1].split("</section>", 1)[0]
    return upcoming, past


def _titles(section, prefix):
    """The numbers of the events called "<prefix> <number>" that `section` links, in order."""
    return re.findall(rf">{prefix} (\d+)</a>", section)


@pytest.fixture
def three_per_page(monkeypatch):
    monkeypatch.setattr(views.EventListView, "paginate_by", 3)


def _make_events(upcoming, past):
    """"Upcoming 1" soonest, "Past 1" the most recent, each one day apart; saved in the reverse
    of the order they are listed in, so that only the queries' own order lists them so (review
    r33: a part of a page's query without its ORDER BY passed, as the rows came as saved)."""
    now = timezone.now()
    for day in range(upcoming, 0, -1):
        make_event(f"Upcoming {day}", starts=now + timedelta(days=day))
    for day in range(past, 0, -1):
        make_event(f"Past {day}", starts=now - timedelta(days=day))


def test_events_pages_go_through_the_upcoming_events_then_the_past_ones(client, three_per_page):
    _make_events(upcoming=4, past=5)
    first, second, third = (_sections(_page(client, f"/events/?page={number}")) for number in (1, 2, 3))
    assert _titles(first[0], "Upcoming") == ["1", "2", "3"] and first[1] is None
    assert _titles(second[0], "Upcoming") == ["4"] and _titles(second[1], "Past") == ["1", "2"]
    assert third[0] is None and _titles(third[1], "Past") == ["3", "4", "5"]
    assert client.get("/events/?page=4").status_code == 404


def test_many_upcoming_events_take_as_many_pages_as_they_need(client, three_per_page):
    _make_events(upcoming=7, past=0)
    pages = [_sections(_page(client, f"/events/?page={number}")) for number in (1, 2, 3)]
    assert [_titles(upcoming, "Upcoming") for upcoming, _ in pages] == [["1", "2", "3"], ["4", "5", "6"], ["7"]]
    # Only the last page says that nothing has happened yet.
    assert [past for _, past in pages[:2]] == [None, None]
    assert "No past events yet." in pages[2][1]


def test_events_page_says_when_nothing_is_announced_or_has_happened(client, three_per_page):
    upcoming, past = _sections(_page(client, "/events/"))
    assert "No upcoming events are announced." in upcoming and "No past events yet." in past
    _make_events(upcoming=0, past=4)
    upcoming, past = _sections(_page(client, "/events/"))
    assert "No upcoming events are announced." in upcoming and _titles(past, "Past") == ["1", "2", "3"]
    assert _sections(_page(client, "/events/?page=2"))[0] is None


def test_events_pages_link_each_other_without_calling_events_older(client, three_per_page):
    _make_events(upcoming=4, past=0)
    html = _page(client, "/events/?page=2")
    assert 'rel="prev" href="/events/"' in html and "← Previous" in html
    assert "Older" not in html and "Newer" not in html


def test_an_event_that_ends_drops_from_upcoming_to_past(client, three_per_page):
    now = timezone.now()
    make_event("Upcoming 1", starts=now - timedelta(hours=1), ends=now + timedelta(seconds=1))
    upcoming, past = _sections(_page(client, "/events/"))
    assert _titles(upcoming, "Upcoming") == ["1"]
    Event.objects.filter(title="Upcoming 1").update(ends=now - timedelta(seconds=1))
    upcoming, past = _sections(_page(client, "/events/"))
    assert "No upcoming events are announced." in upcoming and ">Upcoming 1</a>" in past


def _edit_before(monkeypatch, query, edit):
    """`edit()`, an editor's change, made once as the events page builds its `query` (upcoming
    or past) for a page, after counting: what another request may do between the count and
    the page."""
    original = getattr(EventQuerySet, query)
    done = []

    def wrapped(self, *args, **kwargs):
        if not done:
            done.append(True)
            edit()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(EventQuerySet, query, wrapped)


def test_an_event_moved_into_the_past_while_a_page_is_read_shows_once(client, three_per_page, monkeypatch):
    now = timezone.now()
    make_event("Upcoming 1", starts=now + timedelta(days=1))
    make_event("Upcoming 2", starts=now + timedelta(days=2))
    make_event("Past 1", starts=now - timedelta(days=7))
    moved = {"starts": now - timedelta(days=1), "ends": now - timedelta(hours=23)}
    _edit_before(monkeypatch, "past", lambda: Event.objects.filter(title="Upcoming 2").update(**moved))
    html = _page(client, "/events/")
    assert _titles(html, "Upcoming") == ["1", "2"]


def test_an_event_unpublished_while_a_page_is_read_puts_no_past_event_under_upcoming(
    client, three_per_page, monkeypatch
):
    _make_events(upcoming=2, past=2)

    def unpublish():
        Event.objects.filter(title="Upcoming 1").update(status=Event.Status.DRAFT)

    _edit_before(monkeypatch, "upcoming", unpublish)
    upcoming, past = _sections(_page(client, "/events/"))
    assert _titles(upcoming, "Upcoming") == ["2"] and _titles(upcoming, "Past") == []
    assert _titles(past, "Past") == ["1"]


def _queries_of(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200, url
    return len(queries)


def test_an_events_page_runs_as_many_queries_whether_it_holds_upcoming_past_or_both(client, three_per_page):
    # Pages 1, 2 and 3 hold upcoming events only, both kinds, past events only: each page is
    # read with one query, a UNION ALL of its two parts (review r30c: 3 or 4 made the page's
    # count depend on what it shows).
    _make_events(upcoming=4, past=5)
    counts = {number: _queries_of(client, f"/events/?page={number}") for number in (1, 2, 3)}
    assert len(set(counts.values())) == 1, counts
    upcoming, past = _sections(_page(client, "/events/?page=2"))
    assert _titles(upcoming, "Upcoming") == ["4"] and _titles(past, "Past") == ["1", "2"]


def test_a_page_of_upcoming_and_past_events_is_read_in_one_query_in_their_order(django_assert_num_queries):
    _make_events(upcoming=4, past=5)
    now = timezone.now()
    with django_assert_num_queries(1):
        upcoming, past = Event.objects.upcoming_and_past_slices(now, None, upcoming=(2, 4), past=(0, 3))
    assert [event.title for event in upcoming] == ["Upcoming 3", "Upcoming 4"]
    assert [event.title for event in past] == ["Past 1", "Past 2", "Past 3"]
    with django_assert_num_queries(0):
        assert Event.objects.upcoming_and_past_slices(now, None, upcoming=(4, 4), past=(0, 0)) == ([], [])


def _edit_after_the_first_part(edit):
    """A database execute_wrapper making `edit()` once, right after the first query reading a
    part of a page (on SQLite's two queries: between the upcoming part and the past part)."""
    done = []

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not done and "news_event" in sql and "LIMIT" in sql:
            done.append(True)
            edit()
        return result

    return wrapper


def test_with_two_queries_an_event_moved_into_the_past_between_them_shows_once(client, three_per_page, monkeypatch):
    # SQLite reads a page's two parts with a query each (PostgreSQL in one statement, one
    # snapshot): an event moved into the past between them is in both, and shown once
    # (review r33: no test reached this once the parts were one query).
    monkeypatch.setattr(connection.features, "supports_slicing_ordering_in_compound", False)
    now = timezone.now()
    make_event("Upcoming 1", starts=now + timedelta(days=1))
    make_event("Upcoming 2", starts=now + timedelta(days=2))
    make_event("Past 1", starts=now - timedelta(days=7))
    moved = {"starts": now - timedelta(days=1), "ends": now - timedelta(hours=23)}
    with connection.execute_wrapper(
        _edit_after_the_first_part(lambda: Event.objects.filter(title="Upcoming 2").update(**moved))
    ):
        html = _page(client, "/events/")
    assert _titles(html, "Upcoming") == ["1", "2"]


EVENTS_ON_BOTH = """
from datetime import timedelta
from news import views
from news.models import Event
views.EventListView.paginate_by = 3
for day in (-9, -5, -3, -1, 2, 4, 8, 10):
    Event.objects.create(
        title=f"Event {day}", slug=f"event-{day + 20}", status="published",
        publish_at=noon - timedelta(days=30), starts=noon + timedelta(days=day),
        ends=noon + timedelta(days=day, hours=2), all_day=day % 2 == 0, city="Riga",
    )
"""


@pytest.mark.django_db(transaction=True)
def test_the_events_pages_on_sqlite_are_those_on_postgresql(client, three_per_page, tmp_path):
    # SQLite reads a page with a query for each part, PostgreSQL with one UNION ALL (review r33).
    setup = with_todays_noon(EVENTS_ON_BOTH)
    urls = ["/events/", "/events/?page=2", "/events/?page=last"]
    on_sqlite = pages_on_sqlite(tmp_path, ["regions_seed"], urls, setup=setup)
    call_command("loaddata", "regions_seed", verbosity=0)
    exec(setup)
    for url in urls:
        status, html = on_sqlite[url]
        assert status == 200, url
        assert main_of(html) == _page(client, url), url
    upcoming, past = _sections(main_of(on_sqlite["/events/?page=2"][1]))
    assert "Event 10" in upcoming and "Event -1" in past


@pytest.fixture
def two_news_on_event_page(monkeypatch):
    monkeypatch.setattr(views, "EVENT_NEWS_ON_PAGE", 2)


def _news_about(event, count):
    """`count` published articles about `event`, "News 1" the newest, one day apart."""
    now = timezone.now()
    for day in range(1, count + 1):
        make_article(f"News {day}", event=event, publish_at=now - timedelta(days=day))


def test_event_page_shows_its_latest_news_and_links_them_all_when_there_are_more(client, two_news_on_event_page):
    event = make_event("Forum")
    _news_about(event, 3)
    html = _page(client, event.get_absolute_url())
    assert ">News 1</a>" in html and ">News 2</a>" in html and ">News 3</a>" not in html
    assert f'href="/events/{event.slug}/news/">All news about Forum</a>' in html


def test_event_page_does_not_link_a_news_list_it_already_shows_whole(client, two_news_on_event_page):
    event = make_event("Forum")
    _news_about(event, 2)
    html = _page(client, event.get_absolute_url())
    assert ">News 1</a>" in html and ">News 2</a>" in html
    assert f"/events/{event.slug}/news/" not in html


def test_event_news_page_lists_the_events_published_news_newest_first_in_pages(client, monkeypatch):
    monkeypatch.setattr(views.EventNewsListView, "paginate_by", 2)
    event, other = make_event("Forum"), make_event("Other forum")
    _news_about(event, 3)
    make_draft_article("Draft about the forum", event=event)
    make_article("Scheduled about the forum", event=event, publish_at=timezone.now() + timedelta(days=1))
    make_article("About the other forum", event=other)
    first, second = _page(client, "/events/forum/news/"), _page(client, "/events/forum/news/?page=2")
    assert "<h1>News about Forum</h1>" in first and 'href="/events/forum/"' in first
    assert first.index(">News 1</a>") < first.index(">News 2</a>") and ">News 3</a>" not in first
    assert ">News 3</a>" in second
    for html in (first, second):
        assert "Draft about" not in html and "Scheduled about" not in html and "other forum" not in html
    assert client.get("/events/forum/news/?page=3").status_code == 404


def test_event_news_page_of_an_unknown_or_unpublished_event_is_a_404(client):
    draft = make_event("Secret forum", status=Event.Status.DRAFT)
    make_article("About the secret forum", event=draft)
    assert client.get("/events/no-such-event/news/").status_code == 404
    assert client.get(f"/events/{draft.slug}/news/").status_code == 404


def test_staff_preview_a_draft_events_news_page_privately(staff_client):
    draft = make_event("Secret forum", status=Event.Status.DRAFT)
    make_article("About the secret forum", event=draft)
    response = staff_client.get(f"/events/{draft.slug}/news/")
    html = response.content.decode()
    assert response.status_code == 200 and ">About the secret forum</a>" in html
    assert "Preview:" in html and "this is a draft" in html
    assert "no-store" in response["Cache-Control"] and response["X-Robots-Tag"] == "noindex"


def test_event_news_page_reads_no_more_of_the_event_than_it_shows(client):
    make_article("News 1", event=make_event("Forum", body="<p>A long programme.</p>"))
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/events/forum/news/").status_code == 200
    event_reads = [query["sql"] for query in queries.captured_queries if 'FROM "news_event"' in query["sql"]]
    assert event_reads and not any('"news_event"."body"' in sql for sql in event_reads), event_reads
