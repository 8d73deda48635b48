"""
The teasers of articles and events, and an event's dates: the parts that lists repeat (home,
news, topic, events, an event's news, a region's news and events, search results).

Written here with format_html rather than as included templates because a list renders them
up to tens of times a page: as an {% include %}, one teaser cost ~180 µs in variable lookups,
filters and reverse() calls, here ~15 µs. The markup is the one the partial templates had,
and the templates still place it: {% article_teaser %}, {% event_teaser %} and
{% event_dates %} (news.templatetags.teasers). Every value is escaped by format_html, as
{{ }} escapes it.

The dates are written as the `date` filter writes them with "j F Y", "j F Y, H:i", "H:i" and
"Y-m-d", in the current time zone (tests/test_news_teasers.py compares them).
"""

from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from baltmet.templatetags.renditions import responsive_image

# The `sizes` of a teaser's image: 10rem beside the text on wider screens, else 40% of the view.
TEASER_IMAGE_SIZES = "(min-width: 40em) 10rem, 40vw"
HEADINGS = frozenset({"h2", "h3", "h4"})


def _heading(heading):
    heading = heading or "h2"
    if heading not in HEADINGS:
        raise ValueError(f"a teaser's heading is one of {sorted(HEADINGS)}, not {heading!r}")
    return heading


def _day(local):
    """'j F Y' ("5 March 2024") of a local date-time. MONTHS is translated as for `date`."""
    return f"{local.day} {MONTHS[local.month]} {local.year:04d}"


def _time(local):
    """'H:i' ("09:30") of a local date-time."""
    return f"{local.hour:02d}:{local.minute:02d}"


def _iso_day(local):
    """'Y-m-d' of a local date-time."""
    return local.date().isoformat()


def _iso(local):
    """A local date-time for a datetime attribute: what the html_datetime filter writes."""
    return local.replace(microsecond=0).isoformat()


def event_dates(event):
    """When `event` takes place, as <time> elements: an all-day event by its dates (one, or
    first – last), a timed one by start and end date-times (the end's time alone on the same day)."""
    starts, ends = timezone.localtime(event.starts), timezone.localtime(event.ends)
    same_day = starts.date() == ends.date()
    if event.all_day:
        if same_day:
            return format_html('<time datetime="{}">{}</time>', _iso_day(starts), _day(starts))
        return format_html(
            '<time datetime="{}">{}</time> – <time datetime="{}">{}</time>',
            _iso_day(starts),
            _day(starts),
            _iso_day(ends),
            _day(ends),
        )
    return format_html(
        '<time datetime="{}">{}, {}</time> – <time datetime="{}">{}</time>',
        _iso(starts),
        _day(starts),
        _time(starts),
        _iso(ends),
        _time(ends) if same_day else f"{_day(ends)}, {_time(ends)}",
    )


def article_teaser(article, heading="h2"):
    """An article in a list: title as a link, date, image (renditions), lead, "Read more"."""
    heading = _heading(heading)
    url = article.get_absolute_url()
    published = timezone.localtime(article.publish_at)
    image = ""
    if article.image:
        image = responsive_image(article.image, article.image_alt, TEASER_IMAGE_SIZES, "teaser-image")
    return format_html(
        '<article class="teaser">\n'
        '  <{}><a href="{}">{}</a></{}>\n'
        '  <p class="meta"><time datetime="{}">{}</time></p>\n'
        "  {}\n"
        "  {}\n"
        '  <p><a class="read-more" href="{}">Read more<span class="visually-hidden">: {}</span></a></p>\n'
        "</article>",
        mark_safe(heading),
        url,
        article.title,
        mark_safe(heading),
        _iso(published),
        _day(published),
        image,
        format_html("<p>{}</p>", article.lead) if article.lead else "",
        url,
        article.title,
    )


def event_teaser(event, heading="h2"):
    """An event in a list: title as a link, dates and place, organisers, lead."""
    heading = _heading(heading)
    place = event.place
    return format_html(
        '<article class="teaser">\n'
        '  <{}><a href="{}">{}</a></{}>\n'
        '  <p class="meta">{}{}</p>\n'
        "  {}\n"
        "  {}\n"
        "</article>",
        mark_safe(heading),
        event.get_absolute_url(),
        event.title,
        mark_safe(heading),
        event_dates(event),
        format_html(" · {}", place) if place else "",
        format_html('<p class="meta">Organised by {}</p>', event.organisers) if event.organisers else "",
        format_html("<p>{}</p>", event.lead) if event.lead else "",
    )
