"""RSS 2.0 and Atom feeds of the latest published news (django.contrib.syndication)."""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.functional import cached_property
from django.utils.html import escape

from baltmet.content_version import read_version
from news.models import Article

FEED_LENGTH = 20


class _DatedWhenEmpty:
    """A feed whose date stays put while it has no items. Django's is the time it is written,
    which changed the file at every request under one ETag (review r27a); here it is when the
    content last changed, which moves the ETag too."""

    def latest_post_date(self):
        if self.items:
            return super().latest_post_date()
        return self._content_changed

    @cached_property
    def _content_changed(self):
        # Django asks twice, for its Last-Modified and for the file: one query (review r27g).
        return read_version()[1]


class RssFeed(_DatedWhenEmpty, Rss201rev2Feed):
    pass


class AtomFeed(_DatedWhenEmpty, Atom1Feed):
    pass


class LatestArticlesFeed(Feed):
    feed_type = RssFeed

    def title(self):
        return f"{settings.SITE_NAME} news"

    def description(self):
        return settings.SITE_DESCRIPTION

    def link(self):
        return reverse("news:list")

    def items(self):
        return Article.objects.published().prefetch_related("topics")[:FEED_LENGTH]

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        # Feed readers treat the description as HTML; the lead is plain text, so escape it.
        return escape(item.lead)

    def item_pubdate(self, item):
        return item.publish_at

    def item_updateddate(self, item):
        return item.updated

    def item_categories(self, item):
        return [topic.name for topic in item.topics.all()]


class LatestArticlesAtomFeed(LatestArticlesFeed):
    feed_type = AtomFeed

    def subtitle(self):
        return self.description()
