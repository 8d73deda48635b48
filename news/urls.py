from django.urls import path

from baltmet.conditional import conditional_on_content, publications_of
from news import feeds, views
from news.models import Article

app_name = "news"

# Feed readers poll: they get 304 Not Modified until the news changes.
conditional_feed = conditional_on_content(publications_of(Article))

# Fixed addresses come before <slug>/ so that no article slug can shadow them.
urlpatterns = [
    path("", views.ArticleListView.as_view(), name="list"),
    path("feed/", conditional_feed(feeds.LatestArticlesFeed()), name="feed"),
    path("feed/atom/", conditional_feed(feeds.LatestArticlesAtomFeed()), name="atom"),
    path("topic/<slug:slug>/", views.TopicArticleListView.as_view(), name="topic"),
    path("<slug:slug>/", views.ArticleDetailView.as_view(), name="detail"),
]
