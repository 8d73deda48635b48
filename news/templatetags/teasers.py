"""{% article_teasers articles "h3" %}, {% event_teasers events "h3" %}, {% event_teaser event "h3" %},
{% event_dates event %}: the repeated parts of news and event lists, written by news.teasers
(see why there). A list is written by one tag, so that its teasers share their lookups."""

from django import template

from news import teasers

register = template.Library()


@register.simple_tag
def article_teasers(articles, heading="h2"):
    return teasers.article_teasers(articles, heading)


@register.simple_tag
def event_teasers(events, heading="h2"):
    return teasers.event_teasers(events, heading)


@register.simple_tag
def event_teaser(event, heading="h2"):
    return teasers.event_teaser(event, heading)


@register.simple_tag
def event_dates(event):
    return teasers.event_dates(event)
