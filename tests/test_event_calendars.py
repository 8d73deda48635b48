"""iCalendar files: one event, and the subscribable calendar of all events (RFC 5545)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from icalendar import Calendar

from news import models as news_models
from tests.news_factories import make_event, make_past_event

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def _calendar(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["VERSION"]) == "2.0"
    assert "BaltMet Inno" in str(calendar["PRODID"])
    return response, calendar


def _only_event(calendar):
    [vevent] = calendar.walk("VEVENT")
    return vevent


def test_event_ics_describes_a_timed_event_in_the_site_time_zone(client):
    starts = datetime(2030, 11, 13, 9, 30, tzinfo=BERLIN)
    event = make_event(
        "Transnational Cluster Alliances",
        starts=starts,
        ends=starts + timedelta(hours=8),
        venue="Adlershof",
        city="Berlin",
        country="Germany",
        organisers="TSB in cooperation with WISTA",
        lead="The final conference of WP 3.",
    )
    response, calendar = _calendar(client, f"/events/{event.slug}.ics")
    assert response["Content-Disposition"] == f'attachment; filename="{event.slug}.ics"'
    vevent = _only_event(calendar)
    assert str(vevent["SUMMARY"]) == "Transnational Cluster Alliances"
    assert vevent["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert vevent.decoded("DTSTART") == starts
    assert vevent.decoded("DTEND") == datetime(2030, 11, 13, 17, 30, tzinfo=BERLIN)
    assert str(vevent["LOCATION"]) == "Adlershof, Berlin, Germany"
    assert str(vevent["DESCRIPTION"]) == "The final conference of WP 3.\n\nOrganised by TSB in cooperation with WISTA"
    assert str(vevent["URL"]) == f"http://testserver/events/{event.slug}/"
    assert vevent.decoded("DTSTAMP") == event.updated.replace(microsecond=0), "the last revision, in UTC"
    [vtimezone] = calendar.walk("VTIMEZONE")
    assert str(vtimezone["TZID"]) == "Europe/Berlin"


def test_all_day_event_is_dates_with_an_exclusive_end(client):
    starts = datetime(2007, 6, 13, tzinfo=BERLIN)
    event = make_event("Workshops", all_day=True, starts=starts, ends=datetime(2007, 6, 15, tzinfo=BERLIN))
    _, calendar = _calendar(client, f"/events/{event.slug}.ics")
    vevent = _only_event(calendar)
    assert vevent["DTSTART"].params["VALUE"] == "DATE"
    assert vevent.decoded("DTSTART") == date(2007, 6, 13)
    assert vevent.decoded("DTEND") == date(2007, 6, 16), "DTEND is the day after the last day"
    assert calendar.walk("VTIMEZONE") == [], "dates need no time zone"


def test_one_day_all_day_event_ends_the_next_day(client):
    day = datetime(2007, 11, 13, tzinfo=BERLIN)
    event = make_event("Conference", all_day=True, starts=day, ends=day)
    vevent = _only_event(_calendar(client, f"/events/{event.slug}.ics")[1])
    assert (vevent.decoded("DTSTART"), vevent.decoded("DTEND")) == (date(2007, 11, 13), date(2007, 11, 14))


def test_event_uid_is_stable_across_requests_and_hosts(client):
    event = make_event("Conference", slug="wp3-conference")
    first = _only_event(_calendar(client, f"/events/{event.slug}.ics")[1])
    other_host = client.__class__(HTTP_HOST="localhost")
    second = _only_event(_calendar(other_host, f"/events/{event.slug}.ics")[1])
    from_calendar = _only_event(_calendar(client, "/events/calendar.ics")[1])
    assert str(first["UID"]) == str(second["UID"]) == str(from_calendar["UID"]) == "event-wp3-conference@baltmet-inno"


def test_text_with_commas_and_semicolons_survives_the_round_trip(client):
    event = make_event("Clusters; alliances, neighbours", lead="Line one, with; punctuation\nLine two")
    vevent = _only_event(_calendar(client, f"/events/{event.slug}.ics")[1])
    assert str(vevent["SUMMARY"]) == "Clusters; alliances, neighbours"
    assert str(vevent["DESCRIPTION"]) == "Line one, with; punctuation\nLine two"


def test_unknown_event_ics_is_a_404(client):
    assert client.get("/events/no-such-event.ics").status_code == 404


def test_calendar_carries_upcoming_and_past_published_events(client):
    make_event("Next conference")
    make_past_event("Last workshop")
    response, calendar = _calendar(client, "/events/calendar.ics")
    assert response["Content-Disposition"] == 'attachment; filename="baltmet-inno-events.ics"'
    assert str(calendar["X-WR-CALNAME"]) == "BaltMet Inno events"
    summaries = sorted(str(vevent["SUMMARY"]) for vevent in calendar.walk("VEVENT"))
    assert summaries == ["Last workshop", "Next conference"]
    assert len({str(vevent["UID"]) for vevent in calendar.walk("VEVENT")}) == 2


def test_calendar_is_not_taken_for_an_event_called_calendar(client):
    make_event("Calendar", slug="calendar-event")
    response, calendar = _calendar(client, "/events/calendar.ics")
    assert len(calendar.walk("VEVENT")) == 1


def test_calendar_keeps_only_the_soonest_upcoming_events_and_the_latest_past_ones(client, monkeypatch):
    monkeypatch.setattr(news_models, "CALENDAR_PAST_EVENTS", 2)
    monkeypatch.setattr(news_models, "CALENDAR_UPCOMING_EVENTS", 2)
    now = timezone.now()
    for day in (10, 20, 30):
        make_event(f"Past {day}", starts=now - timedelta(days=day))
    for day in (10, 20, 30):
        make_event(f"Upcoming {day}", starts=now + timedelta(days=day))
    _, calendar = _calendar(client, "/events/calendar.ics")
    summaries = [str(vevent["SUMMARY"]) for vevent in calendar.walk("VEVENT")]
    assert summaries == ["Past 20", "Past 10", "Upcoming 10", "Upcoming 20"]


def test_calendar_reads_no_event_bodies_it_does_not_carry(client):
    make_event("Forum", body="<p>A long programme.</p>")
    with CaptureQueriesContext(connection) as queries:
        _calendar(client, "/events/calendar.ics")
    event_reads = [query["sql"] for query in queries.captured_queries if query["sql"].startswith('SELECT "news_event"')]
    assert event_reads and not any('"news_event"."body"' in sql for sql in event_reads), event_reads


def test_calendar_of_a_site_without_events_is_still_a_valid_calendar(client):
    _, calendar = _calendar(client, "/events/calendar.ics")
    assert calendar.walk("VEVENT") == []


def test_time_zone_covers_events_after_2038(client):
    starts = datetime(2040, 7, 1, 10, 0, tzinfo=BERLIN)
    event = make_event("Far future", starts=starts)
    _, calendar = _calendar(client, f"/events/{event.slug}.ics")
    assert _only_event(calendar).decoded("DTSTART") == starts
    vtimezone = calendar.walk("VTIMEZONE")[0]
    # Summer time in July 2040 is +02:00, which the VTIMEZONE must still know about.
    assert vtimezone.to_tz().utcoffset(datetime(2040, 7, 1, 10, 0)) == timedelta(hours=2)
