"""Which uploads a request decodes: to show that renditions are ready before a page needs them."""

from django.test import Client

from baltmet import content_version, page_cache, renditions
from tests.page_cache_settings import use_local_memory_page_cache


def count_decoded_uploads(monkeypatch):
    """[(width, height)] of every upload decoded from now on, as renditions are made."""
    decoded = []
    upright = renditions._upright
    monkeypatch.setattr(renditions, "_upright", lambda opened, orientation: decoded.append(opened.size) or upright(opened, orientation))
    return decoded


def visitor_at_each_version_change(monkeypatch, settings, url="/news/"):
    """[(status, X-Page-Cache, [uploads that request decoded])] of a visitor asking for `url`
    each time the page cache's new version is announced, from now on."""
    use_local_memory_page_cache(settings)
    decoded = count_decoded_uploads(monkeypatch)
    visits = []
    tell = content_version._tell_the_database_watches

    def version_changed(using):
        tell(using)  # the new version is written and announced: visitors see the change
        before = len(decoded)
        response = Client().get(url)
        visits.append((response.status_code, response[page_cache.HEADER], decoded[before:]))

    monkeypatch.setattr(content_version, "_tell_the_database_watches", version_changed)
    return visits
