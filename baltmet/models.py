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
