"""When the running release started serving: the Last-Modified of feeds, calendars and
sitemaps (baltmet.conditional) is never earlier.

Their ETag names the release, so a client that sends If-None-Match gets what a new release
writes (a feed with a mistake mended, a calendar with a new field) at once. A client that sends
only If-Modified-Since, as some feed readers and calendar apps do, would be told 304 until the
content next changed.

The time is kept in the database (baltmet.models.Release, one row per release), so that every
process of a release sends the same one and a restart of the same release (a reboot, a worker
recycled) sends no client the whole file again. A process records its release the first time
it needs the time: it makes the release's row, or moves the row's time to when the process
started where another release has started since (a rollback to this one, whose files the later
release's clients must fetch again). The time a process started, not the time of the request:
a time in the current second would keep Last-Modified out of the answer until it is over. A worker of the old release that restarts while a rolling deploy is under
way counts as a rollback too: until the content next changes, a client that got the old
release's file from it may keep that file.
"""

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from baltmet import release
from baltmet.models import Release

# Taken when the application loads (BaltmetConfig.ready() imports this module).
started = timezone.now()
_recorded = None  # the release this process has recorded


def queryset():
    """The running release's time, as a one-value queryset to read with others (None where the
    release has no row yet)."""
    return Release.objects.filter(digest=release.current()).values("serving_since")


def serving_since(read, using=DEFAULT_DB_ALIAS):
    """When the running release started serving, `read` being what `queryset()` gave: recorded
    first where this process has not done so yet, or its row has gone (a flushed database)."""
    global _recorded
    digest = release.current()
    if _recorded == digest and read is not None:
        return read
    if _record(digest, started, using):
        read = started
    elif read is None:
        # Made by another process since it was read.
        read = queryset().using(using).values_list("serving_since", flat=True).get()
    _recorded = digest
    return read


def _record(digest, since, using):
    """Make the release's row, or move its time to `since` where another release started later;
    whether it did. One statement, so that two processes starting at once agree."""
    connection = connections[using]
    quote = connection.ops.quote_name
    table = quote(Release._meta.db_table)
    digest_column, since_column = (quote(Release._meta.get_field(name).column) for name in ("digest", "serving_since"))
    latest = f"SELECT {digest_column} FROM {table} ORDER BY {since_column} DESC, {digest_column} LIMIT 1"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({digest_column}, {since_column}) VALUES (%s, %s) "
            f"ON CONFLICT ({digest_column}) DO UPDATE SET {since_column} = excluded.{since_column} "
            f"WHERE {table}.{digest_column} <> ({latest})",
            [digest, connection.ops.adapt_datetimefield_value(since)],
        )
        return cursor.rowcount == 1
