from django.conf import settings

from baltmet.seo import canonical_url


def _section(request):
    """The part of the site a page belongs to, for marking the current navigation link."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    return match.namespace or match.url_name or ""


def site(request):
    return {
        "SITE_NAME": settings.SITE_NAME,
        "SITE_DESCRIPTION": settings.SITE_DESCRIPTION,
        "section": _section(request),
        "canonical_url": canonical_url(request),
    }
