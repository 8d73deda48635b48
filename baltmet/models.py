from django.db import models


class ContentVersion(models.Model):
    """One row whose `version` changes with every change to public content (baltmet.page_cache).

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
    """A process's watch of the content version (baltmet.postgres_watch): its database session
    and the lease it renews while it holds the watches' lock. A writer waits out the lease of a
    session that ended while its process may still trust a version read before the change
    (the network cut it off without its process noticing yet)."""

    pid = models.IntegerField(primary_key=True, help_text="The watch's database session (backend process id).")
    backend_start = models.DateTimeField(help_text="When that session started: a reused pid is another session.")
    lease_until = models.DateTimeField(help_text="Until when its process may trust a version it read.")

    class Meta:
        verbose_name = "content version watch"
