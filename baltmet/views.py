from django.urls import reverse
from django.views.generic import ListView, TemplateView

from baltmet.search import RESULTS_PER_PAGE, SearchPaginator, clean_query, search
from news.models import Article, Event
from regions.models import Region

HOME_NEWS_COUNT = 5
HOME_EVENTS_COUNT = 5


class HomeView(TemplateView):
    template_name = "home.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            latest_news=Article.objects.latest_published(HOME_NEWS_COUNT),
            upcoming_events=Event.objects.next_upcoming(HOME_EVENTS_COUNT),
            regions=Region.objects.for_links(),
            **kwargs,
        )


class SearchView(ListView):
    """/search/?q=...&page=N: ten results a page; a page number that is not one of the
    result pages answers 404, as on /news/. With no query, the search form alone."""

    template_name = "search.html"
    context_object_name = "results"
    paginate_by = RESULTS_PER_PAGE
    paginator_class = SearchPaginator
    # The page's canonical address keeps these parameters (baltmet.seo.canonical_url).
    canonical_query_parameters = ("q", "page")

    def get_queryset(self):
        self.query = clean_query(self.request.GET.get("q", ""))
        return search(self.query)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(query=self.query, **kwargs)
        # Asked only where nothing was found: it costs a query.
        context["only_leaves_words_out"] = (
            bool(self.query) and not context["results"] and self.object_list.only_leaves_words_out()
        )
        return context


class RobotsView(TemplateView):
    """/robots.txt: everything public may be crawled; the sitemap lists it."""

    template_name = "robots.txt"
    content_type = "text/plain; charset=utf-8"

    def get_context_data(self, **kwargs):
        return super().get_context_data(sitemap_url=self.request.build_absolute_uri(reverse("sitemap")), **kwargs)
