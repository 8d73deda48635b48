"""The site's URLs under /site/, for the test that another URL configuration is reversed on
its own (tests/test_performance_url_reversing.py)."""

from django.urls import include, path

urlpatterns = [path("site/", include("baltmet.urls"))]
