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
from django.db.models import Count, F, Max, QuerySet
from django.db.models.functions import Greatest
from django.http import Http404
from django.urls import reverse
from django.utils.functional import cached_property

from baltmet.conditional import Item, publications_of
from baltmet.reversing import slug_urls
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


class CountedSitemap(Sitemap):
    """For the index, which asks each section for its latest change and then for its number of
    pages: one aggregate query answers both (`latest` is the expression of an item's last change)."""

    latest = None
    _count = None

    def get_latest_lastmod(self):
        summary = self.items().order_by().aggregate(latest=Max(self.latest), count=Count("pk"))
        self._count = summary["count"]
        return summary["latest"]

    @property
    def paginator(self):
        paginator = super().paginator
        if self._count is not None:
            paginator.count = self._count
        return paginator


class PublishableSitemap(CountedSitemap):
    """Published items; an item's last change is its last edit, or its publication if later
    (a scheduled item appears at publish_at, after it was last saved)."""

    limit = SITEMAP_PAGE_SIZE
    model = None
    latest = Greatest("updated", "publish_at")

    def items(self):
        # In the order of publication, so that an item coming out goes to the last page, not
        # into an early one moving every later item on by one under a crawler reading the pages
        # (a scheduled item made long before has a low pk). An index gives articles and events
        # in this order with these columns (news.models: article_sitemap_idx,
        # event_publication_idx): no sort, no table read.
        return self.model.objects.published().only("slug", "updated", "publish_at").order_by("publish_at", "pk")

    @cached_property
    def _url_of(self):
        # item.get_absolute_url(), with what reversing depends on (the script prefix, the
        # language) read once for the page's addresses rather than for each: SITEMAPS holds
        # classes, so Django's view makes a sitemap for each request.
        return slug_urls(self.model.URL_NAME)

    def location(self, item):
        if self.i18n:  # Django switches the language for each item and language
            return item.get_absolute_url()
        return self._url_of(item.slug)

    def lastmod(self, item):
        return max(item.updated, item.publish_at)


class ArticleSitemap(PublishableSitemap):
    model = Article


class EventSitemap(PublishableSitemap):
    model = Event


class RegionSitemap(CountedSitemap):
    limit = SITEMAP_PAGE_SIZE
    latest = "updated"

    def items(self):
        return Region.objects.only("slug", "updated").order_by("pk")

    def lastmod(self, item):
        return item.updated


SITEMAPS = {
    "pages": StaticPagesSitemap,
    "news": ArticleSitemap,
    "events": EventSitemap,
    "regions": RegionSitemap,
}


_publications = publications_of(Article, Event)


def sitemap_moments(request, section=None, sitemaps=SITEMAPS, **kwargs):
    """The moments of a sitemap file for conditional GET (baltmet.conditional): the latest
    publications, and for a section's page after the first, whether it has an item, read in
    the same query (`Item`). A section or page that does not exist is then a 404 whatever
    validators the client sends, never a 304 (the same ETag would match every address)."""
    moments = _publications(request)
    if section is None:  # the index
        return moments
    if section not in sitemaps:
        raise Http404(f"No sitemap section {section!r}.")
    try:
        page = int(request.GET.get("p", 1))  # as Django's Paginator reads it
    except ValueError:
        raise Http404("No such sitemap page.") from None
    if page < 1:
        raise Http404("No such sitemap page.")
    if page > 1:
        sitemap = sitemaps[section]()
        items = sitemap.items()
        if not isinstance(items, QuerySet):
            raise Http404("No such sitemap page.")  # a list of fixed pages: one page
        latest = F(sitemap.latest) if isinstance(sitemap.latest, str) else sitemap.latest
        first = (page - 1) * sitemap.limit
        if first >= 2**63:  # past what PostgreSQL counts to (an OFFSET is a bigint)
            raise Http404("No such sitemap page.")
        moments.append(Item(items.annotate(moment=latest).values("moment")[first : first + 1]))
    return moments
