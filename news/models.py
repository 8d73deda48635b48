"""News articles, the events they announce, and the topics that group them."""

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from baltmet.publishing import Publishable, PublishableManager, PublishableQuerySet, SlugNaturalKeyManagerMixin
from baltmet.sanitize import SanitizedRichTextField
from baltmet.uploads import UploadTo


class TopicManager(SlugNaturalKeyManagerMixin, models.Manager):
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
        return reverse("news:topic", args=[self.slug])


class EventQuerySet(PublishableQuerySet):
    def upcoming(self):
        """Published events that have not ended yet, soonest first."""
        return self.published().filter(ends__gte=timezone.now()).order_by("starts", "pk")

    def past(self):
        """Published events that have ended, most recent first."""
        return self.published().filter(ends__lt=timezone.now()).order_by("-starts", "-pk")


class EventManager(PublishableManager.from_queryset(EventQuerySet)):
    pass


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

    objects = EventManager()

    class Meta:
        ordering = ["-starts"]
        indexes = [
            models.Index(fields=["status", "publish_at"], name="event_status_publish_idx"),
            models.Index(fields=["ends", "starts"], name="event_ends_starts_idx"),
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
        return reverse("events:detail", args=[self.slug])

    def clean(self):
        if self.starts and self.ends and self.ends < self.starts:
            raise ValidationError({"ends": "An event cannot end before it starts."})

    @property
    def place(self):
        return ", ".join(part for part in (self.venue, self.city, self.country) if part)


class ArticleQuerySet(PublishableQuerySet):
    def published(self):
        return super().published().order_by("-publish_at", "-pk")


class ArticleManager(PublishableManager.from_queryset(ArticleQuerySet)):
    pass


class Article(Publishable):
    title = models.CharField(max_length=250)
    slug = models.SlugField(max_length=250, unique=True)
    lead = models.TextField(blank=True, help_text="A plain-text teaser shown in lists and feeds.")
    body = SanitizedRichTextField(blank=True)
    image = models.ImageField("lead image", upload_to=UploadTo("news"), blank=True)
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

    objects = ArticleManager()

    class Meta:
        ordering = ["-publish_at"]
        get_latest_by = "publish_at"
        indexes = [
            models.Index(fields=["status", "-publish_at"], name="article_status_publish_idx"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("news:detail", args=[self.slug])

    def clean(self):
        if self.image and not self.image_alt.strip():
            raise ValidationError({"image_alt": "A lead image needs alt text."})
