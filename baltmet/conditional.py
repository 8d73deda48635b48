"""
Conditional GET for the files that feed readers, calendar apps and crawlers fetch again and
again (feeds, iCalendar files, sitemaps): ETag and Last-Modified computed in one query,
before any rendering, and 304 Not Modified when the client's copy is current.

Such a file changes only when public content changes (the content version of
baltmet.page_cache, which also records when) or when time reveals something: a scheduled item
coming out, an event ending. `@conditional_on_content(moments)` takes a function of the
view's arguments returning the latest such moments that have passed (datetimes, or querysets
of one datetime each, read in the same query); Last-Modified is the latest of those and of
the last change, and the ETag names the content version, that moment and the release.
`Cache-Control: no-cache` makes clients ask each time (cheap: mostly a 304) instead of
guessing from Last-Modified how long to keep a copy.
"""

from functools import wraps

from django.db.models import QuerySet
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date

from baltmet import release
from baltmet.page_cache import read_version


def content_validators(moments):
    """(etag, last_modified timestamp) for a resource whose latest passed moments are `moments`."""
    querysets = {f"moment_{n}": moment for n, moment in enumerate(moments) if isinstance(moment, QuerySet)}
    version, changed, values = read_version(**querysets)
    fixed = [moment for moment in moments if not isinstance(moment, QuerySet)]
    last_modified = max([changed, *fixed, *(value for value in values.values() if value is not None)])
    timestamp = int(last_modified.timestamp())
    # The release too: a deploy may change what the file says (baltmet.release).
    return f'"{version}-{timestamp}-{release.current()}"', timestamp


def conditional_on_content(moments):
    """Decorate a view: `moments(request, *args, **kwargs)` gives the moments (see the module
    docstring)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method not in ("GET", "HEAD"):
                return view(request, *args, **kwargs)
            etag, last_modified = content_validators(moments(request, *args, **kwargs))
            response = get_conditional_response(request, etag=etag, last_modified=last_modified)
            if response is None:
                response = view(request, *args, **kwargs)
            if response.status_code in (200, 304):
                response["ETag"] = etag
                # Ours, not the view's own (a syndication feed sets its newest item's date).
                response["Last-Modified"] = http_date(last_modified)
                patch_cache_control(response, no_cache=True)
            return response

        return wrapped

    return decorator


def publications_of(*models):
    """A `moments` function for a resource listing published items of `models`."""

    def moments(request, *args, **kwargs):
        return [model.objects.latest_publication() for model in models]

    return moments
