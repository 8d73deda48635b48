"""Two views for the page cache tests: one sets a cookie, one does not."""

from django.http import HttpResponse
from django.urls import path


def sets_cookie(request):
    response = HttpResponse("with a cookie")
    response.set_cookie("chosen", "yes")
    return response


def plain(request):
    return HttpResponse("plain")


urlpatterns = [path("sets-cookie/", sets_cookie), path("plain/", plain)]
