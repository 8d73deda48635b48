"""Benchmarks only (DJANGO_ROOT_URLCONF=bench.urls, set by bench/wrk.py): the site's URLs plus a
trivial view, so that the framework's floor is measured through the same middleware."""

from django.http import HttpResponse
from django.urls import include, path


def floor(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/floor/", floor),
    path("", include("baltmet.urls")),
]
