"""Dates and times for HTML's datetime attributes."""

from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def html_datetime(value):
    """`value` as a valid HTML date-time: ISO 8601 in the site's time zone, to the second.

    Django's "c" format writes microseconds, and HTML allows at most three digits of a fraction
    of a second, so content saved by code (timezone.now()) would make the page invalid.
    """
    if not value:
        return ""
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        value = value.replace(microsecond=0)
    return value.isoformat()
