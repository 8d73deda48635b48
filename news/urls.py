from django.urls import path

from news import feeds, views

app_name = "news"

# Fixed addresses come before <slug>/ so that no article slug can shadow them.
urlpatterns = [
    path("", views.ArticleListView.as_view(), name="list"),
    path("feed/", feeds.LatestArticlesFeed(), name="feed"),
    path("feed/atom/", feeds.LatestArticlesAtomFeed(), name="atom"),
    path("topic/<slug:slug>/", views.TopicArticleListView.as_view(), name="topic"),
    path("<slug:slug>/", views.ArticleDetailView.as_view(), name="detail"),
]
