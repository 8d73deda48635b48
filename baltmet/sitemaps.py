"""
Sitemaps for search engines (django.contrib.sitemaps).

/sitemap.xml is a sitemap index naming one sitemap per section (/sitemap-news.xml, ...),
each cut into pages of SITEMAP_PAGE_SIZE addresses (?p=2, ...), because one sitemap file may
hold at most 50 000 and the archive can grow past that. Only what the public can open is
listed: published articles and events (drafts and scheduled items never), every region, and
the fixed pages. Addresses are absolute, on the host the request came to
(django.contrib.sites is not installed, so Django uses the request's host).
"""

from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.db.models.functions import Greatest
from django.urls import reverse

from news.models import Article, Event
from regions.models import Region

# Addresses per sitemap page: well under the protocol's 50 000, so a page renders quickly.
SITEMAP_PAGE_SIZE = 10_000


class StaticPagesSitemap(Sitemap):
    changefreq = "daily"

    def items(self):
        return ["home", "news:list", "events:list", "regions:list", "regions:compare"]

    def location(self, item):
        return reverse(item)


class PublishableSitemap(Sitemap):
    """Published items; an item's last change is its last edit, or its publication if later
    (a scheduled item appears at publish_at, after it was last saved)."""

    limit = SITEMAP_PAGE_SIZE
    model = None

    def items(self):
        return self.model.objects.published().only("slug", "updated", "publish_at").order_by("pk")

    def lastmod(self, item):
        return max(item.updated, item.publish_at)

    def get_latest_lastmod(self):
        # One aggregate query, not a walk over every item (Django's default).
        return self.model.objects.published().aggregate(latest=Max(Greatest("updated", "publish_at")))["latest"]


class ArticleSitemap(PublishableSitemap):
    model = Article


class EventSitemap(PublishableSitemap):
    model = Event


class RegionSitemap(Sitemap):
    limit = SITEMAP_PAGE_SIZE

    def items(self):
        return Region.objects.only("slug", "updated").order_by("pk")

    def lastmod(self, item):
        return item.updated

    def get_latest_lastmod(self):
        return Region.objects.aggregate(latest=Max("updated"))["latest"]


SITEMAPS = {
    "pages": StaticPagesSitemap,
    "news": ArticleSitemap,
    "events": EventSitemap,
    "regions": RegionSitemap,
}
