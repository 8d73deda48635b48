"""
Conditional GET for the files that feed readers, calendar apps and crawlers fetch again and
again (feeds, iCalendar files, sitemaps): ETag and Last-Modified computed in one query,
before any rendering, and 304 Not Modified when the client's copy is current.

Such a file changes only when public content changes (the content version of
baltmet.content_version, which also records when) or when time reveals something: a scheduled item
coming out, an event ending. `@conditional_on_content(moments)` takes a function of the
view's arguments returning the latest such moments that have passed (datetimes, or querysets
of one datetime each, read in the same query); Last-Modified is the latest of those and of
the last change and of when the running release started serving (baltmet.release_since; left
out until its second is over, and the page cache keeps no copy without it past that second),
and the ETag names the content version, that moment and the release.
A resource about one item names its moment with `Item`; a moment that is the midnight after a
time read (an all-day event ends with its last day) is `MidnightAfter`.
`Cache-Control: no-cache` makes clients ask each time (cheap: mostly a 304) instead of
guessing from Last-Modified how long to keep a copy.
"""

from datetime import datetime
from datetime import timezone as dt_timezone
from functools import wraps

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date, parse_etags

from baltmet import release, release_since
from baltmet.content_version import local_midnight, read_version


class Item:
    """A moment of the one item a resource is about (a one-value queryset): where it has none,
    there is no such public item, and the resource answers without validators (a 404, or a
    staff preview), never 304."""

    def __init__(self, queryset):
        self.queryset = queryset


class MidnightAfter:
    """The midnight, in the site's time zone, after the time a one-value queryset reads (None if
    it reads none): worked out in Python, which knows the zone's changes of clocks."""

    def __init__(self, queryset):
        self.queryset = queryset


def content_validators(moments):
    """(etag, last_modified timestamp, None) for a resource whose latest passed moments are
    `moments`, or (etag, None, the moment Last-Modified may be sent) until the second of the
    last moment is over; None where an `Item` among them has no moment."""
    now = timezone.now()
    queried = (QuerySet, Item, MidnightAfter)
    read = {f"moment_{n}": moment for n, moment in enumerate(moments) if isinstance(moment, queried)}
    read["release"] = release_since.queryset()
    version, changed, values = read_version(
        **{name: getattr(moment, "queryset", moment) for name, moment in read.items()}
    )
    if any(isinstance(read[name], Item) and value is None for name, value in values.items()):
        return None
    for name, value in values.items():
        if isinstance(read[name], MidnightAfter) and value is not None:
            values[name] = local_midnight(value, days_later=1)
    # A client asking only If-Modified-Since gets what a new release writes.
    values["release"] = release_since.latest(values["release"])
    fixed = [moment for moment in moments if not isinstance(moment, queried)]
    last_modified = max([changed, *fixed, *(value for value in values.values() if value is not None)])
    # To the microsecond, and the release too: a deploy may change what the file says.
    etag = f'"{version}-{round(last_modified.timestamp() * 1_000_000)}-{release.current()}"'
    # HTTP dates have whole seconds: until its second is over, a change later in that second
    # would keep the same Last-Modified, and If-Modified-Since would hide it (the ETag does not).
    timestamp = int(last_modified.timestamp())
    if timestamp < int(now.timestamp()):
        return etag, timestamp, None
    return etag, None, datetime.fromtimestamp(timestamp + 1, tz=dt_timezone.utc)


def conditional_response(request, *, etag=None, last_modified=None, response=None):
    """Django's `get_conditional_response()`, but If-Modified-Since is not looked at where an
    If-None-Match is sent that names no entity tag Django can read, a blank one too: RFC 9110
    (13.1.3) has a client's If-None-Match decide alone, and such a one matches nothing (Django
    goes by the date then, the last step, which only ever answers 304)."""
    answer = get_conditional_response(request, etag=etag, last_modified=last_modified, response=response)
    if answer is not response and answer.status_code == 304:
        if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
        if if_none_match is not None and not parse_etags(if_none_match):
            return response
    return answer


def conditional_on_content(moments):
    """Decorate a view: `moments(request, *args, **kwargs)` gives the moments (see the module
    docstring)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method not in ("GET", "HEAD"):
                return view(request, *args, **kwargs)
            validators = content_validators(moments(request, *args, **kwargs))
            if validators is None:
                return view(request, *args, **kwargs)
            etag, last_modified, last_modified_from = validators
            # "If-None-Match: *" asks whether the file exists at all, which only the view knows.
            any_copy = request.headers.get("If-None-Match", "").strip() == "*"
            response = None if any_copy else conditional_response(request, etag=etag, last_modified=last_modified)
            if response is None:
                response = view(request, *args, **kwargs)
                if any_copy:
                    # If-Unmodified-Since is weighed too, as on a stored page (page_cache).
                    response = conditional_response(request, etag=etag, last_modified=last_modified, response=response)
            if response.status_code in (200, 304):
                response["ETag"] = etag
                # Ours, not the view's own (a syndication feed sets its newest item's date).
                response.headers.pop("Last-Modified", None)
                if last_modified is not None:
                    response["Last-Modified"] = http_date(last_modified)
                else:
                    # A copy kept longer would go on without it (baltmet.page_cache).
                    response.valid_until = last_modified_from
                patch_cache_control(response, no_cache=True)
            return response

        return wrapped

    return decorator


def publications_of(*models):
    """A `moments` function for a resource listing published items of `models`."""

    def moments(request, *args, **kwargs):
        return [model.objects.latest_publication() for model in models]

    return moments
