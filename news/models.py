"""News articles, the events they announce, and the topics that group them."""

import functools
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models import OuterRef
from django.utils import timezone

from baltmet.content_version import ContentQuerySet, local_midnight
from baltmet.images import validate_image_file
from baltmet.json_rows import json_rows
from baltmet.prepared import PreparedPages, attnames, from_rows, prepared, related_from_row
from baltmet.publishing import (
    Publishable,
    PublishableManager,
    PublishableQuerySet,
    SlugNaturalKeyManagerMixin,
    sees_unpublished,
)
from baltmet.reversing import slug_url
from baltmet.sanitize import SanitizedRichTextField
from baltmet.search_index import SavedWithSearchIndex, SearchVectorIndex, search_vector_field
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
        # A reverse relation's add() updates rows through the base manager: a content
        # change too (ContentQuerySet.update), as through any other.
        base_manager_name = "objects"
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
# And at most this many upcoming events, the soonest: far more than a network announces ahead,
# and those further off join as the soonest end (an event ending changes the calendar anyway).
CALENDAR_UPCOMING_EVENTS = 500


def _not_ended_yet(now=None, midnight=None):
    """Events that have not ended at `now` (by default, the current time): a timed event until
    its end, an all-day event until the end of its last day in the site's time zone (only the
    dates of an all-day event count). `midnight`, the start of now's day there, is worked out
    from `now` unless given (prepared queries give it)."""
    now = now or timezone.now()
    midnight = midnight or local_midnight(now)
    return models.Q(all_day=False, ends__gte=now) | models.Q(all_day=True, ends__gte=midnight)


class NewsItemQuerySet(PublishableQuerySet):
    """What articles and events, both with a body and a search vector, share."""

    def for_lists(self):
        """Without the columns that lists and teasers do not show: the body and the search vector."""
        return self.defer(*LIST_DEFERRED_FIELDS)


# What lists and teasers of articles and events do not read.
LIST_DEFERRED_FIELDS = ("body", "search_vector")


@functools.cache
def list_fields(model):
    """The attnames of `model`'s fields that lists read (as for_lists() loads them)."""
    return tuple(attnames(model, but=LIST_DEFERRED_FIELDS))


def _list_items(model, rows, using):
    """Instances of `model` from rows of its list_fields(), as for_lists() would load them."""
    return from_rows(model, list_fields(model), rows, using)


class EventQuerySet(NewsItemQuerySet):
    def upcoming(self, now=None, midnight=None):
        """Published events that have not ended yet (at `now`, see _not_ended_yet()), soonest first."""
        return self.published(now).filter(_not_ended_yet(now, midnight)).order_by("starts", "pk")

    def past(self, now=None, midnight=None):
        """Published events that have ended (at `now`, see _not_ended_yet()), most recent first."""
        return self.published(now).exclude(_not_ended_yet(now, midnight)).order_by("-starts", "-pk")

    def upcoming_and_past_counts(self, now, midnight):
        """(how many events upcoming() gives at `now`, how many past() gives), in one query."""
        counts = self.published(now).aggregate(
            upcoming=models.Count("pk", filter=_not_ended_yet(now, midnight)), every=models.Count("pk")
        )
        return counts["upcoming"], counts["every"] - counts["upcoming"]

    def upcoming_and_past_slices(self, now, midnight, upcoming, past):
        """(the events of upcoming()[slice `upcoming`], those of past()[slice `past`]) at
        `now`, with the fields lists read: one query where the database allows (a UNION ALL of
        the two; SQLite cannot order its parts), so that a page of the events list runs as
        many queries whichever kinds it holds, and both parts see the same snapshot."""
        upcoming_part = _tagged(self.upcoming(now, midnight), True)[slice(*upcoming)]
        past_part = _tagged(self.past(now, midnight), False)[slice(*past)]
        if not connections[self.db].features.supports_slicing_ordering_in_compound:
            return _upcoming_and_past_from_rows([*upcoming_part, *past_part], self.db)
        # An empty slice is left out of the UNION (both empty: no query at all).
        return _upcoming_and_past_from_rows(list(upcoming_part.union(past_part, all=True)), self.db)

    def for_calendar(self):
        """What /events/calendar.ics carries: the soonest upcoming events and the most recent past ones."""
        now = timezone.now()
        midnight = local_midnight(now)
        soonest = self.upcoming(now, midnight).values("pk")[:CALENDAR_UPCOMING_EVENTS]
        recent_past = self.past(now, midnight).values("pk")[:CALENDAR_PAST_EVENTS]
        return (
            self.filter(models.Q(pk__in=soonest) | models.Q(pk__in=recent_past)).for_lists().order_by("starts", "pk")
        )

    def last_end_before(self, now):
        """When the last timed event that has ended did, as a one-value queryset."""
        return self.published().filter(all_day=False, ends__lt=now).order_by("-ends").values("ends")[:1]

    def last_all_day_end_before(self, now):
        """The end of the last all-day event that has ended (at the midnight after it, in the
        site's time zone), as a one-value queryset."""
        return self.published().filter(all_day=True, ends__lt=local_midnight(now)).order_by("-ends").values("ends")[:1]

    def once_the_calendar_is_full(self):
        """These events, or none of them while the calendar (for_calendar()) holds every published
        event, as it does up to the fewer of the past and upcoming events it keeps: an event
        ending then moves none of the calendar's bytes, and its subscribers need not download
        it again."""
        fewest = min(CALENDAR_PAST_EVENTS, CALENDAR_UPCOMING_EVENTS)
        return self.filter(models.Exists(self.model.objects.published().order_by().values("pk")[fewest : fewest + 1]))

    def next_end_after(self, now):
        """When the next timed event ends (and moves to the past), as a one-value queryset.
        All-day events end at midnight, which pages expect anyway."""
        return (
            self.filter(status=self.model.Status.PUBLISHED, all_day=False, ends__gte=now)
            .order_by("ends")
            .values("ends")[:1]
        )


@functools.cache
def _next_upcoming_query(count):
    """The query of EventManager.next_upcoming() for `count` events, compiled once per process
    (baltmet.prepared): building it cost twice running it."""

    @prepared
    def query(now: datetime, midnight: datetime):
        return Event.objects.upcoming(now, midnight).values_list(*list_fields(Event))[:count]

    return query


@functools.cache
def _upcoming_and_past_in_region_query(count):
    """The query of EventManager.upcoming_and_past_in_region() for `count` events of each kind,
    compiled once per process (baltmet.prepared): building its two parts cost three times
    running them."""

    @prepared
    def query(region: int, now: datetime, midnight: datetime):
        upcoming = _tagged(Event.objects.upcoming(now, midnight).filter(region_id=region), True)[:count]
        past = _tagged(Event.objects.past(now, midnight).filter(region_id=region), False)[:count]
        return upcoming.union(past, all=True)

    return query


class EventManager(PublishableManager.from_queryset(EventQuerySet)):
    def next_upcoming(self, count):
        """The first `count` upcoming events, soonest first, with the fields lists read."""
        now = timezone.now()
        rows = _next_upcoming_query(count).rows(using=self.db, now=now, midnight=local_midnight(now))
        return _list_items(self.model, rows, self.db)

    def upcoming_and_past_in_region(self, region_id, count):
        """(the first `count` upcoming events of the region, its `count` most recent past ones),
        with the fields lists read, in one query where the database allows (a UNION ALL of the
        two; SQLite cannot order its parts)."""
        db = self.db
        now = timezone.now()
        if not connections[db].features.supports_slicing_ordering_in_compound:
            events = self.filter(region_id=region_id).for_lists()
            return list(events.upcoming(now)[:count]), list(events.past(now)[:count])
        query = _upcoming_and_past_in_region_query(count)
        rows = query.rows(using=db, region=region_id, now=now, midnight=local_midnight(now))
        return _upcoming_and_past_from_rows(rows, db)


def _tagged(events, is_upcoming):
    """Rows of `events`' list_fields() and whether they are upcoming: a part of a UNION ALL of
    upcoming and past events, read back with _upcoming_and_past_from_rows()."""
    return events.annotate(is_upcoming=models.Value(is_upcoming)).values_list(*list_fields(Event), "is_upcoming")


def _upcoming_and_past_from_rows(rows, using):
    """(upcoming events, soonest first; past ones, most recent first) from rows of an event's
    list_fields() and whether it is upcoming, in any order (a UNION ALL's parts keep none)."""
    events = _list_items(Event, rows, using)
    upcoming = [event for event, row in zip(events, rows) if row[-1]]
    past = [event for event, row in zip(events, rows) if not row[-1]]
    return (
        sorted(upcoming, key=lambda event: (event.starts, event.pk)),
        sorted(past, key=lambda event: (event.starts, event.pk), reverse=True),
    )


# Slugs that would collide with a fixed address next to the <slug> patterns: an article called
# "feed" would be hidden behind /news/feed/, an event called "calendar" behind calendar.ics.
RESERVED_ARTICLE_SLUGS = frozenset({"feed"})
RESERVED_EVENT_SLUGS = frozenset({"calendar"})


class Event(SavedWithSearchIndex, Publishable):
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
        base_manager_name = "objects"
        ordering = ["-starts"]
        indexes = [
            # Published events (the status and publish_at of published()), in the sitemap's
            # order of publication with what a sitemap page shows: read from the index alone,
            # not every event read and sorted (baltmet.sitemaps; docs/performance.md).
            models.Index(
                fields=["status", "publish_at", "id"], include=["updated", "slug"], name="event_publication_idx"
            ),
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

    # What an event's page is reversed from, with its slug; lists reverse it once (news.teasers).
    URL_NAME = "events:detail"

    def get_absolute_url(self):
        return slug_url(self.URL_NAME, self.slug)

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
    def published(self, now=None):
        return super().published(now).order_by("-publish_at", "-pk")

    def for_page(self):
        """What an article's own page shows in one query with the article: its event (whose
        body it does not show) and, in one query each, the names and addresses of its topics
        and regions (`page_topics`, `page_regions`). The search vector is for site search only.
        ArticleManager.get_page() reads the same in one query."""
        from regions.models import Region

        return (
            self.select_related("event")
            .defer("search_vector", "event__body", "event__search_vector")
            .prefetch_related(
                models.Prefetch("topics", queryset=Topic.objects.only(*PAGE_LINK_FIELDS), to_attr="page_topics"),
                models.Prefetch("regions", queryset=Region.objects.only(*PAGE_LINK_FIELDS), to_attr="page_regions"),
            )
        )


# What an article's page shows of its topics and regions.
PAGE_LINK_FIELDS = ["id", "name", "slug"]


@functools.cache
def _page_fields():
    # Every field of the article but the search vector, then its event's as lists read them.
    return attnames(Article, but=["search_vector"]), list_fields(Event)


@prepared
def _published_page_query(slug: str, now: datetime):
    from regions.models import Region

    article_fields, event_fields = _page_fields()
    rows = {
        "topic_rows": json_rows(Topic.objects.filter(articles=OuterRef("pk")).order_by("name"), PAGE_LINK_FIELDS),
        "region_rows": json_rows(Region.objects.filter(articles=OuterRef("pk")).order_by("name"), PAGE_LINK_FIELDS),
    }
    return (
        Article.objects.published(now)
        .filter(slug=slug)
        .annotate(**rows)
        .values_list(*article_fields, *[f"event__{name}" for name in event_fields], *rows)
    )


# The queries of ArticleManager.latest_published() and latest_in_region() for `count` articles, compiled
# once per process (baltmet.prepared): building them cost twice running them.


@functools.cache
def _latest_query(count):
    @prepared
    def query(now: datetime):
        return Article.objects.published(now).values_list(*list_fields(Article))[:count]

    return query


@functools.cache
def _latest_in_region_query(count):
    # A region's size decides the plan (see baltmet.prepared).
    @prepared(plan_each_run=True)
    def query(region: int, now: datetime):
        return Article.objects.published(now).filter(regions=region).values_list(*list_fields(Article))[:count]

    return query


# The published articles, and a topic's, read a page at a time (ArticleManager.published_pages()).


def _count(articles):
    """COUNT(*) of `articles` as a query to compile, where count() would run it at once. Grouped
    by a constant, which Django leaves out of GROUP BY, it is a plain aggregate: one row, also
    for 0, and no column read per row (a GROUP BY status cost a fifth more on 8000 articles)."""
    return articles.order_by().values(one=models.Value(1)).annotate(n=models.Count("*")).values_list("n")


@prepared
def _published_count_query(now: datetime):
    return _count(Article.objects.published(now))


@prepared(one_row_per_key=True)
def _published_rows_query(now: datetime):
    return Article.objects.published(now).values_list(*list_fields(Article))


# A topic's size decides the plan of these two (see baltmet.prepared).
@prepared(plan_each_run=True)
def _topic_count_query(topic: int, now: datetime):
    return _count(Article.objects.published(now).filter(topics=topic))


# One row per article: an article is linked to a topic once (the through table is unique).
@prepared(plan_each_run=True, one_row_per_key=True)
def _topic_rows_query(topic: int, now: datetime):
    return Article.objects.published(now).filter(topics=topic).values_list(*list_fields(Article))


class ArticleManager(PublishableManager.from_queryset(ArticleQuerySet)):
    def published_pages(self, topic_id=None):
        """The published articles (of the topic `topic_id`, if given), newest first, with the
        fields lists read, as a list for a Paginator: counted and read a page at a time by
        queries compiled once per process (building them cost as much as running them)."""
        values = {"now": timezone.now()}
        if topic_id is None:
            queries = _published_count_query, _published_rows_query
        else:
            queries = _topic_count_query, _topic_rows_query
            values["topic"] = topic_id
        db = self.db
        return PreparedPages(*queries, lambda rows: _list_items(self.model, rows, db), db, **values)

    def get_page(self, slug, user):
        """The article at `slug` that `user` may open (visible_to()), with what for_page()
        reads; Article.DoesNotExist if there is none.

        For the public on PostgreSQL in one query, compiled once per process (building
        for_page()'s three cost twice running them): the article with its event, and its
        topics and regions as arrays of JSON rows. Staff previews, and SQLite, use for_page().
        """
        db = self.db
        if sees_unpublished(user) or connections[db].vendor != "postgresql":
            return self.visible_to(user).for_page().get(slug=slug)
        row = _published_page_query.first(using=db, slug=slug, now=timezone.now())
        if row is None:
            raise self.model.DoesNotExist(f"No published article has the slug {slug!r}.")
        from regions.models import Region

        article_fields, event_fields = _page_fields()
        [article] = from_rows(self.model, article_fields, [row], db)
        event_start = len(article_fields)
        article.event = related_from_row(Event, event_fields, row, db, start=event_start)
        topic_rows, region_rows = row[event_start + len(event_fields) :]
        article.page_topics = from_rows(Topic, PAGE_LINK_FIELDS, topic_rows, db)
        article.page_regions = from_rows(Region, PAGE_LINK_FIELDS, region_rows, db)
        return article

    def latest_published(self, count):
        """The `count` latest published articles, newest first, with the fields lists read.
        (Not latest(), Django's, which gives the one latest by Meta.get_latest_by.)"""
        rows = _latest_query(count).rows(using=self.db, now=timezone.now())
        return _list_items(self.model, rows, self.db)

    def latest_in_region(self, region_id, count):
        """The region's `count` latest published articles, newest first, with the fields lists read."""
        rows = _latest_in_region_query(count).rows(using=self.db, region=region_id, now=timezone.now())
        return _list_items(self.model, rows, self.db)


class Article(SavedWithSearchIndex, Publishable):
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
    # Kept current by baltmet.search_index on every save; read by site search and the admin's.
    search_vector = search_vector_field()

    objects = ArticleManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["-publish_at"]
        get_latest_by = "publish_at"
        indexes = [
            # Published news, newest first, in the exact order of the lists (no sort step),
            # with `updated` so that counts, the sitemap's latest change and the page cache's
            # next publication read the index alone (docs/performance.md).
            models.Index(fields=["status", "-publish_at", "-id", "updated"], name="article_published_list_idx"),
            SearchVectorIndex(fields=["search_vector"], name="article_search_vector_idx"),
            # Every article, newest first, drafts and scheduled ones too: the admin's list (its
            # first page read from the index, not 100 000 rows sorted) and date hierarchy.
            models.Index(fields=["-publish_at", "-id"], name="article_newest_first_idx"),
            # Published news in the order of publication with what a sitemap page shows: its
            # pages read from the index alone, not 80 000 rows sorted for the last one
            # (baltmet.sitemaps; docs/performance.md).
            models.Index(
                fields=["status", "publish_at", "id"], include=["updated", "slug"], name="article_sitemap_idx"
            ),
        ]
        # Images in rich text belong to no article; the permission lives here with the content.
        permissions = [("upload_image", "Can upload images in the rich-text editor")]

    def __str__(self):
        return self.title

    # What an article's page is reversed from, with its slug; lists reverse it once (news.teasers).
    URL_NAME = "news:detail"

    def get_absolute_url(self):
        return slug_url(self.URL_NAME, self.slug)

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
