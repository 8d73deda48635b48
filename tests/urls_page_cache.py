"""Views for the page cache tests: one sets a cookie, one does not, one has an inline script
with the request's CSP nonce."""

from django.http import HttpResponse
from django.urls import path


def sets_cookie(request):
    response = HttpResponse("with a cookie")
    response.set_cookie("chosen", "yes")
    return response


def plain(request):
    return HttpResponse("plain")


def inline_script(request):
    return HttpResponse(f"<script nonce='{request.csp_nonce}'>1</script>")


urlpatterns = [path("sets-cookie/", sets_cookie), path("plain/", plain), path("inline-script/", inline_script)]
