"""{% sitemap_urls urlset %}: the <url> entries of a sitemap file, written in Python.

Django's own sitemap.xml template looks up each address's fields and runs the date filter in
the template, about 50 µs an address: most of the 1.1 s a page of 10 000 addresses took
(baltmet.sitemaps.SITEMAP_PAGE_SIZE; bench/sitemaps.py). This writes what that template
writes (its `spaceless` output: no white space between the tags), compared with it in
tests/test_sitemap.py and by the benchmark, for what the site's sitemaps give it: addresses,
change frequencies and priorities as text (not blank), and dates or datetimes as lastmod.
"""

from datetime import datetime

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

register = template.Library()


def _day(value, zone):
    """`value|date:"Y-m-d"`: an aware datetime in the time zone `zone` (the current one, as
    templates show it)."""
    if settings.USE_TZ and isinstance(value, datetime) and timezone.is_aware(value):
        value = value.astimezone(zone)
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def _url(url, zone):
    parts = ["<url><loc>", conditional_escape(url["location"]), "</loc>"]
    if url["lastmod"]:
        parts += ["<lastmod>", _day(url["lastmod"], zone), "</lastmod>"]
    if url["changefreq"]:
        parts += ["<changefreq>", conditional_escape(url["changefreq"]), "</changefreq>"]
    if url["priority"]:
        parts += ["<priority>", conditional_escape(url["priority"]), "</priority>"]
    for alternate in url["alternates"]:
        parts.append(
            f'<xhtml:link rel="alternate" hreflang="{conditional_escape(alternate["lang_code"])}" '
            f'href="{conditional_escape(alternate["location"])}"/>'
        )
    parts.append("</url>")
    return "".join(parts)


@register.simple_tag
def sitemap_urls(urlset):
    zone = timezone.get_current_timezone()  # a context-local, read once rather than per address
    return mark_safe("".join(_url(url, zone) for url in urlset))
