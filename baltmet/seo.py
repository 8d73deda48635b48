"""
What search engines and link previews read about a page: its canonical address, and
schema.org data (JSON-LD) for articles and events. The <title>, meta description and Open
Graph tags are in templates/base.html, fed by each template's blocks.
"""

import json
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone
from django.utils.safestring import mark_safe

from baltmet.reversing import fixed_url
from baltmet.templatetags.html_dates import html_datetime

# Query parameters a page's canonical address keeps, unless its view says otherwise with a
# `canonical_query_parameters` attribute: only the page number of a paginated list, so that
# tracking parameters and the like never make a second address for the same page.
CANONICAL_QUERY_PARAMETERS = ("page",)


def canonical_url(request):
    """The absolute canonical address of the page `request` asks for, or "" for a request
    that matched no page. "?page=1" is the list itself, so it is left out."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    view_class = getattr(match.func, "view_class", None)
    allowed = getattr(view_class, "canonical_query_parameters", CANONICAL_QUERY_PARAMETERS)
    kept = [
        (name, value)
        for name in allowed
        for value in request.GET.getlist(name)[-1:]
        if value and not (name == "page" and value == "1")
    ]
    query = f"?{urlencode(kept)}" if kept else ""
    return request.build_absolute_uri(request.path) + query


# JSON inside <script> ends at the first "</script>" whatever the JSON means; with these
# characters escaped, no string in the data can end the element or open a comment.
_SCRIPT_SAFE = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def json_ld_script(data):
    """`data` as a <script type="application/ld+json"> element, safe to put in HTML.

    A data block, not a script: the browser does not run it, so the Content-Security-Policy
    (script-src 'self') needs no exception for it."""
    text = json.dumps(data, ensure_ascii=False, indent=None, separators=(",", ":")).translate(_SCRIPT_SAFE)
    return mark_safe(f'<script type="application/ld+json">{text}</script>')


def _organisation(request):
    return {"@type": "Organization", "name": settings.SITE_NAME, "url": request.build_absolute_uri(fixed_url("home"))}


def article_data(article, request):
    """schema.org NewsArticle for an article page."""
    url = request.build_absolute_uri(article.get_absolute_url())
    organisation = _organisation(request)
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "url": url,
        "mainEntityOfPage": url,
        "datePublished": html_datetime(article.publish_at),
        "dateModified": html_datetime(max(article.updated, article.publish_at)),
        "author": organisation,
        "publisher": organisation,
    }
    if article.lead:
        data["description"] = article.lead
    if article.image:
        data["image"] = [request.build_absolute_uri(article.image.url)]
    return data


def event_data(event, request):
    """schema.org Event for an event page: dates only for an all-day event, else date-times
    with the offset; where it takes place and who organises it, when known."""
    if event.all_day:
        starts = timezone.localdate(event.starts).isoformat()
        ends = timezone.localdate(event.ends).isoformat()
    else:
        starts, ends = html_datetime(event.starts), html_datetime(event.ends)
    data = {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": event.title,
        "url": request.build_absolute_uri(event.get_absolute_url()),
        "startDate": starts,
        "endDate": ends,
        "eventStatus": "https://schema.org/EventScheduled",
    }
    if event.lead:
        data["description"] = event.lead
    address = {
        key: value for key, value in (("addressLocality", event.city), ("addressCountry", event.country)) if value
    }
    if event.venue or address:
        place = {"@type": "Place", "name": event.venue or event.city or event.country}
        if address:
            place["address"] = {"@type": "PostalAddress", **address}
        data["location"] = place
        data["eventAttendanceMode"] = "https://schema.org/OfflineEventAttendanceMode"
    if event.organisers:
        data["organizer"] = {"@type": "Organization", "name": event.organisers}
    return data
