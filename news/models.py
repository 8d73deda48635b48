"""News articles, the events they announce, and the topics that group them."""

from django.core.exceptions import ValidationError
from django.db import connections, models
from django.utils import timezone

from baltmet.images import validate_image_file
from baltmet.page_cache import ContentQuerySet, local_midnight
from baltmet.publishing import Publishable, PublishableManager, PublishableQuerySet, SlugNaturalKeyManagerMixin
from baltmet.reversing import slug_url
from baltmet.sanitize import SanitizedRichTextField
from baltmet.search_index import SearchVectorIndex, search_vector_field
from baltmet.uploads import UploadTo


class TopicManager(SlugNaturalKeyManagerMixin, models.Manager.from_queryset(ContentQuerySet)):
    pass


class Topic(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = TopicManager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)

    def get_absolute_url(self):
        return slug_url("news:topic", self.slug)


# How many past events the subscribable calendar carries besides every upcoming one: enough
# for a calendar app's history, bounded so the file stays small as the archive grows. A count,
# not a time window, because much of this site's archive is years old.
CALENDAR_PAST_EVENTS = 100


def _not_ended_yet():
    """Events that have not ended: a timed event until its end, an all-day event until the end
    of its last day in the site's time zone (only the dates of an all-day event count)."""
    now = timezone.now()
    return models.Q(all_day=False, ends__gte=now) | models.Q(all_day=True, ends__gte=local_midnight(now))


class NewsItemQuerySet(PublishableQuerySet):
    """What articles and events, both with a body and a search vector, share."""

    def for_lists(self):
        """Without the columns that lists and teasers do not show: the body and the search vector."""
        return self.defer("body", "search_vector")


class EventQuerySet(NewsItemQuerySet):
    def upcoming(self):
        """Published events that have not ended yet, soonest first."""
        return self.published().filter(_not_ended_yet()).order_by("starts", "pk")

    def past(self):
        """Published events that have ended, most recent first."""
        return self.published().exclude(_not_ended_yet()).order_by("-starts", "-pk")

    def for_calendar(self):
        """What /events/calendar.ics carries: every upcoming event and the most recent past ones."""
        recent_past = self.past().values("pk")[:CALENDAR_PAST_EVENTS]
        return self.published().filter(_not_ended_yet() | models.Q(pk__in=recent_past)).order_by("starts", "pk")

    def upcoming_and_past(self, count):
        """(the first `count` upcoming events, the `count` most recent past ones), in one query
        where the database allows (a UNION ALL of the two; SQLite cannot order its parts)."""
        upcoming = self.upcoming().annotate(is_upcoming=models.Value(True))[:count]
        past = self.past().annotate(is_upcoming=models.Value(False))[:count]
        if not connections[self.db].features.supports_slicing_ordering_in_compound:
            return list(upcoming), list(past)
        events = list(upcoming.union(past, all=True))
        return (
            sorted((event for event in events if event.is_upcoming), key=lambda event: (event.starts, event.pk)),
            sorted((event for event in events if not event.is_upcoming), key=lambda event: (event.starts, event.pk), reverse=True),
        )

    def last_end_before(self, now):
        """When the last timed event that has ended did, as a one-value queryset."""
        return self.published().filter(all_day=False, ends__lt=now).order_by("-ends").values("ends")[:1]

    def next_end_after(self, now):
        """When the next timed event ends (and moves to the past), as a one-value queryset.
        All-day events end at midnight, which pages expect anyway."""
        return (
            self.filter(status=self.model.Status.PUBLISHED, all_day=False, ends__gte=now)
            .order_by("ends")
            .values("ends")[:1]
        )


class EventManager(PublishableManager.from_queryset(EventQuerySet)):
    pass


# Slugs that would collide with a fixed address next to the <slug> patterns: an article called
# "feed" would be hidden behind /news/feed/, an event called "calendar" behind calendar.ics.
RESERVED_ARTICLE_SLUGS = frozenset({"feed"})
RESERVED_EVENT_SLUGS = frozenset({"calendar"})


class Event(Publishable):
    title = models.CharField(max_length=250)
    slug = models.SlugField(max_length=250, unique=True)
    starts = models.DateTimeField()
    ends = models.DateTimeField()
    all_day = models.BooleanField(
        default=True, help_text="An all-day event shows and exports dates only, without times."
    )
    venue = models.CharField(max_length=250, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=100, blank=True)
    organisers = models.CharField(
        max_length=500,
        blank=True,
        help_text='e.g. "TSB Innovationsagentur Berlin GmbH in cooperation with WISTA Management GmbH"',
    )
    lead = models.TextField(blank=True, help_text="A plain-text teaser shown in lists.")
    body = SanitizedRichTextField(blank=True)
    registration_url = models.URLField("registration link", blank=True)
    region = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    # Kept current by baltmet.search_index on every save; read only by site search.
    search_vector = search_vector_field()

    objects = EventManager()

    class Meta:
        ordering = ["-starts"]
        indexes = [
            models.Index(fields=["status", "publish_at"], name="event_status_publish_idx"),
            models.Index(fields=["ends", "starts"], name="event_ends_starts_idx"),
            SearchVectorIndex(fields=["search_vector"], name="event_search_vector_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends__gte=models.F("starts")),
                name="event_ends_after_start",
                violation_error_message="An event cannot end before it starts.",
            )
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return slug_url("events:detail", self.slug)

    def clean(self):
        errors = {}
        if self.starts and self.ends and self.ends < self.starts:
            errors["ends"] = "An event cannot end before it starts."
        if self.slug in RESERVED_EVENT_SLUGS:
            errors["slug"] = f'"{self.slug}" is reserved for a site address; choose another slug.'
        if errors:
            raise ValidationError(errors)

    @property
    def place(self):
        return ", ".join(part for part in (self.venue, self.city, self.country) if part)


class ArticleQuerySet(NewsItemQuerySet):
    def published(self):
        return super().published().order_by("-publish_at", "-pk")

    def for_page(self):
        """What an article's own page shows in one query with the article: its event (whose
        body it does not show) and, in one query each, the names and addresses of its topics
        and regions. The search vector is for site search only."""
        from regions.models import Region

        return (
            self.select_related("event")
            .defer("search_vector", "event__body", "event__search_vector")
            .prefetch_related(
                models.Prefetch("topics", queryset=Topic.objects.only("name", "slug")),
                models.Prefetch("regions", queryset=Region.objects.only("name", "slug")),
            )
        )


class ArticleManager(PublishableManager.from_queryset(ArticleQuerySet)):
    pass


class Article(Publishable):
    title = models.CharField(max_length=250)
    slug = models.SlugField(max_length=250, unique=True)
    lead = models.TextField(blank=True, help_text="A plain-text teaser shown in lists and feeds.")
    body = SanitizedRichTextField(blank=True)
    image = models.ImageField(
        "lead image", upload_to=UploadTo("news"), blank=True, validators=[validate_image_file]
    )
    image_alt = models.CharField(
        "lead image alt text", max_length=250, blank=True, help_text="Required with a lead image."
    )
    topics = models.ManyToManyField(Topic, blank=True, related_name="articles")
    regions = models.ManyToManyField("regions.Region", blank=True, related_name="articles")
    event = models.ForeignKey(
        Event,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="articles",
        help_text="The event this news item is about, if any.",
    )
    # Kept current by baltmet.search_index on every save; read only by site search.
    search_vector = search_vector_field()

    objects = ArticleManager()

    class Meta:
        ordering = ["-publish_at"]
        get_latest_by = "publish_at"
        indexes = [
            # Published news, newest first, in the exact order of the lists (no sort step),
            # with `updated` so that counts, the sitemap's latest change and the page cache's
            # next publication read the index alone (docs/performance.md).
            models.Index(fields=["status", "-publish_at", "-id", "updated"], name="article_published_list_idx"),
            SearchVectorIndex(fields=["search_vector"], name="article_search_vector_idx"),
        ]
        # Images in rich text belong to no article; the permission lives here with the content.
        permissions = [("upload_image", "Can upload images in the rich-text editor")]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return slug_url("news:detail", self.slug)

    @property
    def public_event(self):
        """The event this article is about, once it is public itself, so that a link to it
        never leads to a 404."""
        event = self.event
        return event if event is not None and event.is_published else None

    def clean(self):
        errors = {}
        if self.image and not self.image_alt.strip():
            errors["image_alt"] = "A lead image needs alt text."
        if self.slug in RESERVED_ARTICLE_SLUGS:
            errors["slug"] = f'"{self.slug}" is reserved for a site address; choose another slug.'
        if errors:
            raise ValidationError(errors)
