"""Benchmarks only (DJANGO_ROOT_URLCONF=bench.urls, set by bench/wrk.py): the site's URLs plus a
trivial view, so that the framework's floor is measured through the same middleware, and the
region profile's queries without its page."""

from django.http import HttpResponse
from django.urls import include, path


def floor(request):
    return HttpResponse("ok", content_type="text/plain")


def region_queries(request, slug):
    """The region profile's three queries as its view runs them (regions.views), and no page:
    what the page costs before anything is rendered."""
    from news.models import Article, Event
    from regions.models import Region
    from regions.views import PROFILE_EVENTS_COUNT, PROFILE_NEWS_COUNT

    region = Region.objects.get_profile(slug=slug)
    Event.objects.upcoming_and_past_in_region(region.pk, PROFILE_EVENTS_COUNT)
    Article.objects.latest_in_region(region.pk, PROFILE_NEWS_COUNT)
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/floor/", floor),
    path("bench/region-queries/<slug:slug>/", region_queries),
    path("", include("baltmet.urls")),
]
