"""Public news and event pages. The rules of what is public live in the querysets."""

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from django.views import View
from django.views.generic import DetailView, ListView
from django.views.generic.detail import BaseDetailView

from baltmet.conditional import Item, conditional_on_content
from baltmet.page_cache import local_midnight
from news.calendar import calendar_response
from news.models import Article, Event, Topic

ARTICLES_PER_PAGE = 10
PAST_EVENTS_PER_PAGE = 20


class StaffPreviewMixin:
    """A detail page that staff may also open for a draft or scheduled item, as a preview;
    everyone else gets a 404 for it (Publishable's visible_to)."""

    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(preview=self.preview_state(), **kwargs)

    def preview_state(self):
        """None for published content, else why the public cannot see it: "draft" or "scheduled"."""
        if self.object.is_published:
            return None
        return "draft" if self.object.status == self.object.Status.DRAFT else "scheduled"

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        if context["preview"]:
            # A preview is for the signed-in editor only: never kept by a shared cache or indexed.
            patch_cache_control(response, private=True, no_store=True)
            response["X-Robots-Tag"] = "noindex"
        return response


class ArticleListView(ListView):
    template_name = "news/article_list.html"
    context_object_name = "articles"
    paginate_by = ARTICLES_PER_PAGE

    def get_queryset(self):
        return Article.objects.published_pages()


class TopicArticleListView(ArticleListView):
    def get_queryset(self):
        self.topic = get_object_or_404(Topic, slug=self.kwargs["slug"])
        return Article.objects.published_pages(topic_id=self.topic.pk)

    def get_context_data(self, **kwargs):
        return super().get_context_data(topic=self.topic, **kwargs)


class ArticleDetailView(StaffPreviewMixin, DetailView):
    model = Article
    template_name = "news/article_detail.html"

    def get_object(self, queryset=None):
        try:
            return Article.objects.get_page(self.kwargs["slug"], self.request.user)
        except Article.DoesNotExist:
            raise Http404("No article has this address.") from None

    def get_context_data(self, **kwargs):
        return super().get_context_data(related_event=self.object.public_event, **kwargs)


class EventListView(ListView):
    """Upcoming events on the first page, then the past ones, which page as they accumulate."""

    template_name = "news/event_list.html"
    context_object_name = "past_events"
    paginate_by = PAST_EVENTS_PER_PAGE

    def get_queryset(self):
        return Event.objects.past().for_lists()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["upcoming_events"] = Event.objects.upcoming().for_lists() if context["page_obj"].number == 1 else None
        return context


class EventDetailView(StaffPreviewMixin, DetailView):
    model = Event
    template_name = "news/event_detail.html"

    def get_queryset(self):
        return super().get_queryset().select_related("region")

    def get_context_data(self, **kwargs):
        return super().get_context_data(related_news=self.object.articles.published().for_lists(), **kwargs)


def _event_file_moments(request, slug):
    """One event's file changes with its edits (the content version) and when it comes out."""
    return [Item(Event.objects.filter(slug=slug).latest_publication())]


def _calendar_moments(request):
    """The calendar also changes when an event comes out, and when one ends (the oldest past
    events drop out): a timed event at its end, an all-day event at midnight."""
    now = timezone.now()
    return [Event.objects.latest_publication(), Event.objects.last_end_before(now), local_midnight(now)]


@method_decorator(conditional_on_content(_event_file_moments), name="get")
class EventICalendarView(BaseDetailView):
    """One event as an .ics file; a draft is as invisible here as on its page."""

    model = Event

    def get_queryset(self):
        return Event.objects.visible_to(self.request.user)

    def render_to_response(self, context):
        response = calendar_response([self.object], self.request, filename=f"{self.object.slug}.ics")
        if not self.object.is_published:
            patch_cache_control(response, private=True, no_store=True)
        return response


@method_decorator(conditional_on_content(_calendar_moments), name="get")
class EventCalendarView(View):
    """The subscribable calendar: every upcoming event and the most recent past ones."""

    def get(self, request):
        return calendar_response(
            Event.objects.for_calendar(),
            request,
            filename="baltmet-inno-events.ics",
            name=f"{settings.SITE_NAME} events",
        )
