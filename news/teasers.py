"""
The teasers of articles and events, and an event's dates: the parts that lists repeat (home,
news, topic, events, an event's news, a region's news and events, search results).

Written here with format_html rather than as included templates because a list renders them
up to tens of times a page: as an {% include %}, one teaser cost ~180 µs in variable lookups,
filters and reverse() calls, here ~30-45 µs in a list. The markup is the one the partial
templates had, and the templates still place it: {% article_teasers %}, {% event_teasers %},
{% event_teaser %} and {% event_dates %} (news.templatetags.teasers). Every value is escaped
by format_html (baltmet.markup's, Django's without its per-value look for lazy strings), as {{ }}
escapes it.

The dates are written as the `date` filter writes them with "j F Y", "j F Y, H:i", "H:i" and
"Y-m-d", in the current time zone (tests/test_news_teasers.py compares them).

A list's teasers are written together: what each teaser would look up again, the same for the
whole list (the current time zone, the month names of the current language, the text around
the slug in the items' URLs), is looked up once per list. Looked up per teaser, it was ~15 µs
of an article teaser's ~50.
"""

from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.safestring import mark_safe

from baltmet.markup import format_html
from baltmet.reversing import slug_urls
from baltmet.renditions import renditions_for_many
from baltmet.templatetags.renditions import responsive_image

# The `sizes` of a teaser's image: .teaser-image (site.css) is 10rem on every screen, narrower
# only where 40% of its column is less, which 40vw bounds: 10rem from 25rem on (where 40vw
# reaches it), else 40vw, as min(10rem, 40vw) says without needing min() in sizes. It said 40vw
# up to 40em, and screens of 25 to 40rem at twice the density took a copy twice too wide.
TEASER_IMAGE_SIZES = "(min-width: 25rem) 10rem, 40vw"
HEADINGS = frozenset({"h2", "h3", "h4"})


def _heading(heading):
    heading = heading or "h2"
    if heading not in HEADINGS:
        raise ValueError(f"a teaser's heading is one of {sorted(HEADINGS)}, not {heading!r}")
    return heading


class _Lookups:
    """What the teasers of one list look up the same, looked up when first needed and kept for
    the list (within one request: the time zone and language are the request's)."""

    def __init__(self, renditions=None):
        self.renditions = renditions or {}  # {image name: its renditions}
        self.zone = timezone.get_current_timezone()
        self._months = {}
        self._urls = {}

    def local(self, moment):
        return timezone.localtime(moment, self.zone)

    def day(self, local):
        """'j F Y' ("5 March 2024") of a local date-time. MONTHS is translated as for `date`."""
        month = self._months.get(local.month)
        if month is None:
            month = self._months[local.month] = str(MONTHS[local.month])
        return f"{local.day} {month} {local.year:04d}"

    def url(self, item):
        """item.get_absolute_url(), for an article or event (reversed from its URL_NAME and slug)."""
        url_of = self._urls.get(item.URL_NAME)
        if url_of is None:
            url_of = self._urls[item.URL_NAME] = slug_urls(item.URL_NAME)
        return url_of(item.slug)


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
    return _event_dates(event, _Lookups())


def _event_dates(event, lookups):
    starts, ends = lookups.local(event.starts), lookups.local(event.ends)
    same_day = starts.date() == ends.date()
    day = lookups.day
    if event.all_day:
        if same_day:
            return format_html('<time datetime="{}">{}</time>', _iso_day(starts), day(starts))
        return format_html(
            '<time datetime="{}">{}</time> – <time datetime="{}">{}</time>',
            _iso_day(starts),
            day(starts),
            _iso_day(ends),
            day(ends),
        )
    return format_html(
        '<time datetime="{}">{}, {}</time> – <time datetime="{}">{}</time>',
        _iso(starts),
        day(starts),
        _time(starts),
        _iso(ends),
        _time(ends) if same_day else f"{day(ends)}, {_time(ends)}",
    )


def _teasers(items, heading, teaser, renditions=None):
    """`teaser(item, heading, lookups)` of each of `items`, one after the other, sharing their lookups."""
    heading = mark_safe(_heading(heading))
    lookups = _Lookups(renditions)
    return mark_safe("\n".join(teaser(item, heading, lookups) for item in items))


def article_teasers(articles, heading="h2"):
    """The teasers of `articles`, one after the other. An article's: title as a link, date,
    image (renditions, looked up for the whole list at once), lead, "Read more"."""
    articles = list(articles)
    renditions = renditions_for_many(article.image for article in articles)
    return _teasers(articles, heading, _article_teaser, renditions)


def _article_teaser(article, heading, lookups):
    url = lookups.url(article)
    published = lookups.local(article.publish_at)
    image = ""
    if article.image:
        renditions = lookups.renditions.get(article.image.name)
        image = responsive_image(article.image, article.image_alt, TEASER_IMAGE_SIZES, "teaser-image", renditions)
    return format_html(
        '<article class="teaser">\n'
        '  <{}><a href="{}">{}</a></{}>\n'
        '  <p class="meta"><time datetime="{}">{}</time></p>\n'
        "  {}\n"
        "  {}\n"
        '  <p><a class="read-more" href="{}">Read more<span class="visually-hidden">: {}</span></a></p>\n'
        "</article>",
        heading,
        url,
        article.title,
        heading,
        _iso(published),
        lookups.day(published),
        image,
        format_html("<p>{}</p>", article.lead) if article.lead else "",
        url,
        article.title,
    )


def event_teaser(event, heading="h2"):
    """An event in a list: title as a link, dates and place, organisers, lead."""
    return event_teasers([event], heading)


def event_teasers(events, heading="h2"):
    """The teasers of `events`, one after the other."""
    return _teasers(events, heading, _event_teaser)


def _event_teaser(event, heading, lookups):
    place = event.place
    return format_html(
        '<article class="teaser">\n'
        '  <{}><a href="{}">{}</a></{}>\n'
        '  <p class="meta">{}{}</p>\n'
        "  {}\n"
        "  {}\n"
        "</article>",
        heading,
        lookups.url(event),
        event.title,
        heading,
        _event_dates(event, lookups),
        format_html(" · {}", place) if place else "",
        format_html('<p class="meta">Organised by {}</p>', event.organisers) if event.organisers else "",
        format_html("<p>{}</p>", event.lead) if event.lead else "",
    )
