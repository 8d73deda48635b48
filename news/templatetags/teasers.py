"""{% article_teaser article "h3" %}, {% event_teaser event "h3" %}, {% event_dates event %}:
the repeated parts of news and event lists, written by news.teasers (see why there)."""

from django import template

from news import teasers

register = template.Library()


@register.simple_tag
def article_teaser(article, heading="h2"):
    return teasers.article_teaser(article, heading)


@register.simple_tag
def event_teaser(event, heading="h2"):
    return teasers.event_teaser(event, heading)


@register.simple_tag
def event_dates(event):
    return teasers.event_dates(event)
