"""The site's URLs with the uploads served by Django, as `baltmet.urls` adds them with
DJANGO_SERVE_MEDIA=1, the media folder read at each request (each test has its own)."""

from django.conf import settings
from django.urls import include, path, re_path
from django.views.static import serve


def _media(request, path):
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [re_path(r"^media/(?P<path>.*)$", _media), path("", include("baltmet.urls"))]
