from django.http import Http404
from django.views.generic import DetailView, ListView, TemplateView

from baltmet.renditions import renditions_for_many
from news.models import Article, Event
from regions.comparison import compare
from regions.models import Region, figures_by_group

# How many news items and events of each kind a region's page lists.
PROFILE_NEWS_COUNT = 5
PROFILE_EVENTS_COUNT = 5


class RegionListView(ListView):
    context_object_name = "regions"

    def get_queryset(self):
        return Region.objects.for_list()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Every card's image looked up in one request to the cache, not one each.
        renditions = renditions_for_many(region.image for region in context["regions"])
        for region in context["regions"]:
            region.image_renditions = renditions.get(region.image.name)
        return context


class RegionDetailView(DetailView):
    model = Region
    context_object_name = "region"

    def get_object(self, queryset=None):
        try:
            return Region.objects.get_profile(slug=self.kwargs["slug"])
        except Region.DoesNotExist:
            raise Http404("No region has this address.") from None

    def get_context_data(self, **kwargs):
        region = self.object
        upcoming_events, past_events = Event.objects.upcoming_and_past_in_region(region.pk, PROFILE_EVENTS_COUNT)
        return super().get_context_data(
            institutions=region.profile_institutions,
            clusters=region.profile_clusters,
            networks=region.cluster_networks(region.profile_clusters),
            figures=figures_by_group(region.latest_figures),
            sources=sorted({figure.source for figure in region.latest_figures if figure.source}),
            latest_news=Article.objects.latest_in_region(region.pk, PROFILE_NEWS_COUNT),
            upcoming_events=upcoming_events,
            past_events=past_events,
            **kwargs,
        )


class RegionCompareView(TemplateView):
    template_name = "regions/region_compare.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(comparison=compare(self.request.GET), **kwargs)
