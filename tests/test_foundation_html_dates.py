"""datetime attributes are valid HTML: to the second, in the site's time zone (no microseconds)."""

from datetime import date, datetime, timezone as dt_timezone

from django.template import Context, Template


def render(value):
    return Template("{% load html_dates %}<time datetime=\"{{ value|html_datetime }}\">x</time>").render(
        Context({"value": value})
    )


def test_aware_datetime_in_site_time_zone_without_microseconds(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    html = render(datetime(2024, 3, 5, 11, 0, 0, 123456, tzinfo=dt_timezone.utc))
    assert html == '<time datetime="2024-03-05T12:00:00+01:00">x</time>'


def test_dates_and_empty_values():
    assert render(date(2007, 11, 13)) == '<time datetime="2007-11-13">x</time>'
    assert render(None) == '<time datetime="">x</time>'
