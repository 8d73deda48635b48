"""Public news and event pages. The rules of what is public live in the querysets."""

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.vary import vary_on_cookie
from django.views.generic import DetailView, ListView
from django.views.generic.detail import BaseDetailView

from baltmet.conditional import Item, MidnightAfter, conditional_on_content
from news.calendar import calendar_response
from news.event_listing import UpcomingThenPast
from news.models import Article, Event, Topic

ARTICLES_PER_PAGE = 10
EVENTS_PER_PAGE = 20
EVENT_NEWS_ON_PAGE = 10


class PreviewKeptPrivateMixin:
    """A page whose context has a `preview` (preview_state()) is for the signed-in editor only:
    never kept by a shared cache or indexed."""

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        if context["preview"]:
            patch_cache_control(response, private=True, no_store=True)
            response["X-Robots-Tag"] = "noindex"
        return response


class StaffPreviewMixin(PreviewKeptPrivateMixin):
    """A detail page that staff may also open for a draft or scheduled item, as a preview;
    everyone else gets a 404 for it (Publishable's visible_to)."""

    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(preview=preview_state(self.object), **kwargs)


def preview_state(item):
    """None for published content, else why the public cannot see `item`: "draft" or "scheduled"."""
    if item.is_published:
        return None
    return "draft" if item.status == item.Status.DRAFT else "scheduled"


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
    """The upcoming events, soonest first, then the past ones, most recent first, as one list
    that pages: a page may hold some of each."""

    template_name = "news/event_list.html"
    paginate_by = EVENTS_PER_PAGE

    def get_queryset(self):
        return UpcomingThenPast(Event.objects.all())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = context["page_obj"]
        upcoming, past = page.object_list.upcoming, page.object_list.past
        _, past_count = self.object_list.counts()
        context.update(
            upcoming_events=upcoming,
            past_events=past,
            # The first page says so when nothing is coming; the last when nothing has been.
            show_upcoming=bool(upcoming) or page.number == 1,
            show_past=bool(past) or (past_count == 0 and not page.has_next()),
        )
        return context


class EventDetailView(StaffPreviewMixin, DetailView):
    model = Event
    template_name = "news/event_detail.html"

    def get_queryset(self):
        return super().get_queryset().select_related("region")

    def get_context_data(self, **kwargs):
        # One more than shown tells whether to link the event's whole news list.
        news = list(self.object.articles.published().for_lists()[: EVENT_NEWS_ON_PAGE + 1])
        return super().get_context_data(
            related_news=news[:EVENT_NEWS_ON_PAGE], more_news=len(news) > EVENT_NEWS_ON_PAGE, **kwargs
        )


class EventNewsListView(PreviewKeptPrivateMixin, ListView):
    """Every published article about one event, newest first, a page at a time; the event's
    own page shows the latest few."""

    template_name = "news/event_news_list.html"
    context_object_name = "articles"
    paginate_by = ARTICLES_PER_PAGE

    def get_queryset(self):
        events = Event.objects.visible_to(self.request.user).for_lists()
        self.event = get_object_or_404(events, slug=self.kwargs["slug"])
        return self.event.articles.published().for_lists()

    def get_context_data(self, **kwargs):
        # Staff may open the list of an event that is not public yet, as they may its page.
        return super().get_context_data(event=self.event, preview=preview_state(self.event), **kwargs)


def _event_file_moments(request, slug):
    """One event's file changes with its edits (the content version) and when it comes out."""
    return [Item(Event.objects.filter(slug=slug).latest_publication())]


def _calendar_moments(request):
    """The calendar also changes when an event comes out, and, once it is full, when one ends
    (the oldest past events drop out): a timed event at its end, an all-day event at the
    midnight after its last day. A midnight at which no event ended changes nothing: subscribers'
    copies stay current."""
    now = timezone.now()
    full = Event.objects.once_the_calendar_is_full()
    return [
        Event.objects.latest_publication(),
        full.last_end_before(now),
        MidnightAfter(full.last_all_day_end_before(now)),
    ]


# Outermost: what a signed-in editor may see (a draft) depends on the session, and a 304, made
# without the view, must say so as its 200 does (RFC 9110, 15.4.5).
@method_decorator(vary_on_cookie, name="get")
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
    """The subscribable calendar: the soonest upcoming events and the most recent past ones."""

    def get(self, request):
        return calendar_response(
            Event.objects.for_calendar(),
            request,
            filename="baltmet-inno-events.ics",
            name=f"{settings.SITE_NAME} events",
        )
