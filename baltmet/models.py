from django.db import models


class ContentVersion(models.Model):
    """One row whose `version` changes with every change to public content (baltmet.content_version).

    It lives in the database, next to the content, so that every process that can see a change
    sees the new version too, whatever cache it uses, and so that a change and its new version
    are committed (or rolled back) together.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.BigIntegerField()
    changed = models.DateTimeField(help_text="When public content last changed.")

    class Meta:
        verbose_name = "content version"

    def __str__(self):
        return f"content version {self.version} ({self.changed:%Y-%m-%d %H:%M:%S})"


class ContentVersionWatch(models.Model):
    """A lease of a process's watch of the content version (baltmet.postgres_watch), renewed
    while the watch holds the watches' lock and deleted by the watch before it lets go of it. A
    writer waits out the leases left by watches that could not delete theirs (their session
    ended, or their network failed, while their process may still trust an old version)."""

    id = models.BigIntegerField(primary_key=True, help_text="Chosen at random by the watch, once per connection.")
    lease_until = models.DateTimeField(help_text="Until when its process may trust a version it read.")

    class Meta:
        verbose_name = "content version watch"


class Release(models.Model):
    """When each release of the site's code (baltmet.release) started serving it: feeds',
    calendars' and sitemaps' Last-Modified is never earlier (baltmet.release_since)."""

    digest = models.CharField(max_length=64, primary_key=True)
    serving_since = models.DateTimeField(
        help_text="When the first process of this release started, or of a rollback to it."
    )

    class Meta:
        verbose_name = "release"

    def __str__(self):
        return f"release {self.digest} (serving since {self.serving_since:%Y-%m-%d %H:%M:%S})"
