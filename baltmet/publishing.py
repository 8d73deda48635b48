"""What "published" means, defined once for every kind of content that has drafts."""

from django.db import models
from django.utils import timezone

from baltmet.content_version import ContentQuerySet


class SlugNaturalKeyManagerMixin:
    """Fixtures refer to rows by slug, so they load into any database."""

    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


def sees_unpublished(user):
    """Whether `user` may open drafts and scheduled items at their public URLs: staff, to
    preview them."""
    return user.is_active and user.is_staff


class PublishableQuerySet(ContentQuerySet):
    def published(self, now=None):
        """Published, and not scheduled for later than `now` (by default, the current time)."""
        return self.filter(status=Publishable.Status.PUBLISHED, publish_at__lte=now or timezone.now())

    def visible_to(self, user):
        """What `user` may open at its public URL: staff also preview drafts and scheduled items."""
        return self.all() if sees_unpublished(user) else self.published()

    def latest_publication(self):
        """The publish_at of the newest item the public can see, as a one-value queryset."""
        return self.published().order_by("-publish_at").values("publish_at")[:1]

    def next_publication_after(self, now):
        """The publish_at of the next item to appear after `now`, as a one-value queryset."""
        return (
            self.filter(status=Publishable.Status.PUBLISHED, publish_at__gt=now)
            .order_by("publish_at")
            .values("publish_at")[:1]
        )


class PublishableManager(SlugNaturalKeyManagerMixin, models.Manager.from_queryset(PublishableQuerySet)):
    pass


class Publishable(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    publish_at = models.DateTimeField(
        "publish at",
        default=timezone.now,
        help_text="Published content appears from this time on; a later time schedules it.",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = PublishableManager()

    class Meta:
        abstract = True

    def natural_key(self):
        return (self.slug,)

    @property
    def is_published(self):
        return self.status == self.Status.PUBLISHED and self.publish_at <= timezone.now()
