"""Views for the page cache tests: one sets a cookie, one does not, one has an inline script
with the request's CSP nonce, three say their response is not the same for everyone, one
answers with the credentials it was sent."""

from django.http import HttpResponse
from django.urls import path
from django.utils.cache import patch_cache_control, patch_vary_headers


def sets_cookie(request):
    response = HttpResponse("with a cookie")
    response.set_cookie("chosen", "yes")
    return response


def plain(request):
    return HttpResponse("plain")


def inline_script(request):
    return HttpResponse(f"<script nonce='{request.csp_nonce}'>1</script>")


def private(request):
    response = HttpResponse("for one visitor")
    patch_cache_control(response, private=True)
    return response


def no_store(request):
    response = HttpResponse("never kept")
    patch_cache_control(response, no_store=True)
    return response


def by_language(request):
    response = HttpResponse(request.headers.get("Accept-Language", "any language"))
    patch_vary_headers(response, ["Accept-Language"])
    return response


def credentials(request):
    return HttpResponse(request.headers.get("Authorization", "no credentials"))


urlpatterns = [
    path("sets-cookie/", sets_cookie),
    path("plain/", plain),
    path("inline-script/", inline_script),
    path("private/", private),
    path("no-store/", no_store),
    path("by-language/", by_language),
    path("credentials/", credentials),
]
