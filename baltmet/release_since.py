"""When the running release started serving: the Last-Modified of feeds, calendars and
sitemaps (baltmet.conditional) is never earlier, and the page cache serves no page made before
it (baltmet.page_cache).

Their ETag names the release, so a client that sends If-None-Match gets what a new release
writes (a feed with a mistake mended, a calendar with a new field) at once. A client that sends
only If-Modified-Since, as some feed readers and calendar apps do, would be told 304 until the
content next changed.

The time is kept in the database (baltmet.models.Release, one row per release), so that the
processes of a release agree, and a restart of the same release (a reboot, a worker recycled)
sends no client the whole file again. A process records its release once, as it starts
(baltmet.wsgi; else when first asked): it makes the release's row with the time it started, or
moves the row's time on to that where another release has started since: a rollback to this
release, whose files the later release's clients must fetch again, and whose pages stored
before that release (with Redis, they outlive the processes) must not answer them. Feeds read
the row with the rest of what their validators need, so a process that recorded an earlier
time follows a later one.

Not told apart from a rollback: a worker of the old release restarting (a crash, a timeout)
while a rolling deploy is under way. Its release's time then moves past the new release's,
and a process of the new release starting after it moves that one again: until then, a client
given the old release's file by that worker may keep it (its ETag is not affected), and stored
pages of the new release are made once more.
"""

import logging
import threading
import time

from django.db import DEFAULT_DB_ALIAS, Error, connections, transaction
from django.utils import timezone

from baltmet import release
from baltmet.models import Release

logger = logging.getLogger(__name__)

# When this module is loaded, as the application loads (BaltmetConfig.ready() imports it).
started = timezone.now()
_recorded = None  # (release, time) as this process recorded it
# After a failure, how long before it is tried again: requests do not each wait for a
# database that is down (pages the cache holds are served meanwhile).
RETRY_SECONDS = 10.0
_failed_at = None  # time.monotonic() of the last failure
_moving_on = threading.Lock()


def known():
    """When the running release started serving, as this process recorded it; None where it
    has not (yet). Never asks the database."""
    if _recorded is not None and _recorded[0] == release.current():
        return _recorded[1]
    return None


def serving_since(using=DEFAULT_DB_ALIAS):
    """known(), recorded first where it is not yet (tried again RETRY_SECONDS after a failure,
    which is logged): None where it cannot be."""
    global _recorded, _failed_at
    recorded = known()
    if recorded is not None:
        return recorded
    digest = release.current()
    if _failed_at is not None and time.monotonic() - _failed_at < RETRY_SECONDS:
        return None
    if release.of_this_process_alone(digest):
        since = started  # no other process serves it
    else:
        connection = connections[using]
        try:
            with transaction.atomic(using=using):  # inside a transaction, a savepoint
                since = _record(digest, started, connection)
        except Error:
            _failed_at = time.monotonic()
            logger.error(
                "the release's start could not be recorded; tried again in %s s", RETRY_SECONDS, exc_info=True
            )
            return None
        _failed_at = None
        if connection.in_atomic_block:
            return since  # not kept: the transaction around it may yet be rolled back
    _recorded = (digest, since)
    return since


def start_anew():
    """The running release changed within this process (baltmet.release.anew_on_a_file_changed,
    which then works it out again and records it): it starts serving now."""
    global started
    started = timezone.now()


def record_as_the_process_starts():
    """serving_since(), from a server's entry point (baltmet.wsgi, baltmet.asgi) once the
    application is loaded; then the connection is closed, which a server forking after this
    (gunicorn --preload) would share between its workers."""
    serving_since()
    connections.close_all()


def queryset():
    """The running release's time, as a one-value queryset to read with others (None where the
    release has no row)."""
    return Release.objects.filter(digest=release.current()).values("serving_since")


def latest(read, using=DEFAULT_DB_ALIAS):
    """When the running release started serving, `read` being what queryset() gave: the row's
    time, which only moves on, or this process's where it is later or the row is missing. A
    later time (another process of the release recorded it after a rollback) becomes this
    process's too, so that the pages it serves are as recent (see known())."""
    global _recorded
    own = serving_since(using) or started
    if read is None or read <= own:
        return own
    if not connections[using].in_atomic_block:
        with _moving_on:  # threads: never back to an earlier time another one took
            recorded = known()
            if recorded is not None and read > recorded:
                _recorded = (release.current(), read)
    return read


def _record(digest, since, connection):
    """The release's time, after making its row with `since`, or moving it on to `since` where
    another release started at or after its time. One statement: two processes of a release
    starting at once get the same time (the second waits for the first's row, and its
    condition reads that row)."""
    quote = connection.ops.quote_name
    table = quote(Release._meta.db_table)
    field = Release._meta.get_field("serving_since")
    digest_column, since_column = quote(Release._meta.get_field("digest").column), quote(field.column)
    another_started_since = (
        f"EXISTS (SELECT 1 FROM {table} AS other WHERE other.{digest_column} <> {table}.{digest_column} "
        f"AND other.{since_column} >= {table}.{since_column})"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({digest_column}, {since_column}) VALUES (%s, %s) "
            f"ON CONFLICT ({digest_column}) DO UPDATE SET {since_column} = CASE "
            f"WHEN {another_started_since} AND excluded.{since_column} > {table}.{since_column} "
            f"THEN excluded.{since_column} ELSE {table}.{since_column} END "
            f"RETURNING {since_column}",
            [digest, connection.ops.adapt_datetimefield_value(since)],
        )
        [value] = cursor.fetchone()
    column = field.get_col(Release._meta.db_table)
    for converter in connection.ops.get_db_converters(column):
        value = converter(value, column, connection)
    return value
