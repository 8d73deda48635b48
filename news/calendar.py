"""
iCalendar (RFC 5545) files for events: one event (/events/<slug>.ics) and the subscribable
calendar of all events (/events/calendar.ics), built with the `icalendar` package.

- UIDs come from the event's slug, its natural key, so they are the same on every request,
  whatever host serves them and whichever database the fixtures were loaded into; calendar
  apps use the UID to update an event they already have instead of adding it twice.
- Without a METHOD property, RFC 5545 (3.8.7.2) makes DTSTAMP the time the event was last
  revised, so it is the event's `updated`: the file only changes when the event does.
- All-day events are dates (VALUE=DATE) with an exclusive DTEND, the day after the last day;
  timed events are local times in the site's TIME_ZONE with a TZID and its VTIMEZONE.
"""

from datetime import timedelta

from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from icalendar import Calendar
from icalendar import Event as CalendarEvent

PRODID = "-//BaltMet Inno//News and events//EN"
UID_DOMAIN = "baltmet-inno"
CONTENT_TYPE = "text/calendar; charset=utf-8"


def event_uid(event):
    return f"event-{event.slug}@{UID_DOMAIN}"


def _start_and_end(event):
    site_tz = timezone.get_default_timezone()
    starts = timezone.localtime(event.starts, site_tz)
    ends = timezone.localtime(event.ends, site_tz)
    if event.all_day:
        return starts.date(), ends.date() + timedelta(days=1)
    return starts, ends


def _description(event):
    parts = [event.lead.strip()]
    if event.organisers:
        parts.append(f"Organised by {event.organisers}")
    return "\n\n".join(part for part in parts if part)


def _calendar_event(event, url):
    start, end = _start_and_end(event)
    component = CalendarEvent()
    component.add("uid", event_uid(event))
    component.add("dtstamp", event.updated)
    component.add("created", event.created)
    component.add("last-modified", event.updated)
    component.add("summary", event.title)
    component.add("dtstart", start)
    component.add("dtend", end)
    if event.place:
        component.add("location", event.place)
    description = _description(event)
    if description:
        component.add("description", description)
    component.add("url", url)
    return component


def build_calendar(events, absolute_url, name=None):
    """The iCalendar file (bytes) of `events`; `absolute_url` turns a path into a full URL."""
    events = list(events)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if name:
        # NAME (RFC 7986) and its older spelling, which calendar apps show for a subscription.
        calendar.add("name", name)
        calendar.add("x-wr-calname", name)
    for event in events:
        calendar.add_component(_calendar_event(event, absolute_url(event.get_absolute_url())))
    if events:
        # The VTIMEZONE must cover every event, not only icalendar's default of 1970 to 2038.
        calendar.add_missing_timezones(
            first_date=min(event.starts for event in events).date() - timedelta(days=1),
            last_date=max(event.ends for event in events).date() + timedelta(days=2),
        )
    return calendar.to_ical()


def calendar_response(events, request, filename, name=None):
    response = HttpResponse(build_calendar(events, request.build_absolute_uri, name), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response
