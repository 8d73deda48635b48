"""RSS 2.0 and Atom feeds of the latest published news (django.contrib.syndication)."""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from news.models import Article

FEED_LENGTH = 20


class LatestArticlesFeed(Feed):
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
    feed_type = Atom1Feed

    def subtitle(self):
        return self.description()
