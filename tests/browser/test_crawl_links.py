"""Every internal link on every public page of the seed content answers 200, found by crawling."""

from urllib.parse import urldefrag, urljoin, urlsplit
from xml.etree import ElementTree

import pytest
from django.urls import Resolver404, resolve

from news.models import Article, Event
from regions.models import Region
from tests.html_inspect import elements

pytestmark = pytest.mark.browser

# Not for visitors: the admin and the editor's upload endpoints.
SKIPPED_PREFIXES = ("/admin/", "/ckeditor/")
# Start pages besides the home page: what crawlers and the search box reach without a link.
EXTRA_STARTS = ("/sitemap.xml", "/robots.txt", "/search/?q=cluster")
MAX_PAGES = 500


# <link>s whose address is a page or file of the site (not, say, a preconnect hint).
FOLLOWED_LINK_RELS = {"alternate", "stylesheet", "canonical", "icon"}


def links_in(html):
    return [
        attrs["href"]
        for tag, attrs in elements(html)
        if attrs.get("href") and (tag == "a" or (tag == "link" and attrs.get("rel") in FOLLOWED_LINK_RELS))
    ]


def sitemap_locations(xml):
    namespace = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    return [loc.text.strip() for loc in ElementTree.fromstring(xml).iter(f"{namespace}loc") if loc.text]


def is_sitemap(url):
    path = urlsplit(url).path
    return path.startswith("/sitemap") and path.endswith(".xml")


def exists(path):
    try:
        resolve(urlsplit(path).path)
        return True
    except Resolver404:
        return False


def test_every_internal_link_answers_200(site, page):
    origin = urlsplit(site)
    http = page.request  # the browser's own HTTP client: same headers, cookies, redirects off below

    def internal(url, referrer):
        url, _fragment = urldefrag(urljoin(referrer, url))
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc != origin.netloc:
            return None
        if parts.path.startswith(SKIPPED_PREFIXES):
            return None
        return url

    queue = [(f"{site}/", "(start)")] + [(site + path, "(start)") for path in EXTRA_STARTS if exists(path)]
    seen = {url for url, _ in queue}
    broken, visited = [], []
    while queue:
        url, referrer = queue.pop(0)
        response = http.get(url, max_redirects=0)
        visited.append(url)
        if response.status != 200:
            broken.append(f"{url} answered {response.status} (linked from {referrer})")
            continue
        content_type = response.headers.get("content-type", "")
        if content_type.startswith("text/html"):
            found = links_in(response.text())
        elif is_sitemap(url):  # the sitemap index, and the sitemaps it lists
            found = sitemap_locations(response.text())
        else:
            found = []
        for href in found:
            target = internal(href, url)
            if target and target not in seen:
                seen.add(target)
                queue.append((target, url))
        assert len(visited) < MAX_PAGES, "the crawl does not end: a link generates new addresses"

    assert not broken, "broken internal links:\n" + "\n".join(broken)
    # The crawl reached every piece of content, so it checked what it claims to have checked.
    paths = {urlsplit(url).path for url in visited}
    for item in [*Article.objects.published(), *Event.objects.published(), *Region.objects.all()]:
        assert item.get_absolute_url() in paths, f"no link leads to {item.get_absolute_url()}"
    for path in ("/news/feed/", "/news/feed/atom/", "/events/calendar.ics", "/regions/compare/", "/search/",
                 "/news/topic/cluster-development/"):
        assert path in paths, path
    assert any(path.endswith(".ics") and path != "/events/calendar.ics" for path in paths)
