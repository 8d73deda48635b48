"""A URLconf with a view that fails, to see the 500 page as visitors would."""

from django.urls import include, path


def broken_view(request):
    raise RuntimeError("boom: secret internals")


urlpatterns = [
    path("broken/", broken_view),
    path("", include("baltmet.urls")),
]
