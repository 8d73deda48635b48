"""The public pages of the seed content, for the checks that visit every one of them."""

from django.urls import reverse

from news.models import Article, Event, Topic
from regions.models import Region

NOT_FOUND = "/no-such-page/"


def public_pages():
    """Every public HTML page of the loaded content, plus a search, a chosen comparison and the 404 page."""
    return [
        "/",
        "/news/",
        *(article.get_absolute_url() for article in Article.objects.published()),
        *(topic.get_absolute_url() for topic in Topic.objects.all()),
        "/events/",
        *(event.get_absolute_url() for event in Event.objects.published()),
        *(reverse("events:news", args=[event.slug]) for event in Event.objects.published()),
        "/regions/",
        *(region.get_absolute_url() for region in Region.objects.all()),
        "/regions/compare/",
        "/regions/compare/?region=oslo&metric=population&metric=area",
        "/search/",
        "/search/?q=cluster",
        NOT_FOUND,
    ]
