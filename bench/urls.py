"""Benchmarks only (DJANGO_ROOT_URLCONF=bench.urls, set by bench/wrk.py): the site's URLs plus a
trivial view, so that the framework's floor is measured through the same middleware, the
region profile's queries without its page, and the least a page of the site can be."""

from django.http import HttpResponse
from django.template import engines
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


# The site's layout around a list of one query's rows, written the plain Django way.
_MINIMAL_PAGE = engines["django"].from_string(
    "{% extends 'base.html' %}{% block content %}<h1>Topics</h1>"
    "<ul>{% for topic in topics %}<li>{{ topic.name }}</li>{% endfor %}</ul>{% endblock %}"
)


def minimal_page(request):
    """A page of the site at its least: `base.html` (its navigation, metadata and footer) around
    one ORM query's dozen rows, no page cache. Beside the trivial view it shows what any page
    of the site costs before its own queries and templates."""
    from news.models import Topic

    return HttpResponse(_MINIMAL_PAGE.render({"topics": Topic.objects.all()}, request))


urlpatterns = [
    path("bench/floor/", floor),
    path("bench/region-queries/<slug:slug>/", region_queries),
    path("bench/minimal-page/", minimal_page),
    path("", include("baltmet.urls")),
]
