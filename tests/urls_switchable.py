"""The site's URLs, in a list a test changes in place, for the test that links follow a URL
configuration whose patterns changed under the same name (tests/test_performance_url_reversing.py)."""

from django.urls import include, path

urlpatterns = [path("", include("baltmet.urls"))]
