from django.views.generic import TemplateView

from baltmet.search import search
from news.models import Article, Event
from regions.models import Region

HOME_NEWS_COUNT = 5
HOME_EVENTS_COUNT = 5


class HomeView(TemplateView):
    template_name = "home.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            latest_news=Article.objects.published()[:HOME_NEWS_COUNT],
            upcoming_events=Event.objects.upcoming()[:HOME_EVENTS_COUNT],
            regions=Region.objects.only("name", "slug", "country"),
            **kwargs,
        )


class SearchView(TemplateView):
    template_name = "search.html"

    def get_context_data(self, **kwargs):
        query = self.request.GET.get("q", "")
        return super().get_context_data(query=query, results=search(query), **kwargs)
