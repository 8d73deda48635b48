"""A read that stands in for Django's connection health check.

With CONN_HEALTH_CHECKS on (the settings turn it on), Django sends `SELECT 1` before the first
query of each request that reuses a database connection, so that a connection PostgreSQL has
dropped since the last request (a restart, an idle timeout) is replaced instead of failing
the request. That is one more round trip to PostgreSQL per request: for a page served from
the local-memory page cache, whose only query reads the content version, half its round trips.
Measured with wrk (docs/performance.md), such hits went from 68-73% of the rate of a trivial
view to 78-80% when the version read did the check. The pages' queries compiled once
(baltmet.prepared) do it too, for a page whose first query is its own (the page cache off).

A read can do the check's work itself: run it first, and only if it fails, ask whether the
connection still works (Django's own `is_usable()`); where it does not, replace the connection
and run the read again, as the check would have before it (`run_again_on_a_new_connection`).
Only for work that may run twice: a read changes nothing, and the page cache's change of its
content version only moves it on twice; a write sent on a connection that broke during it
might have been done.

A page's query that may run long stands in for the check only on a connection that answered a
moment ago (`IDLE_CHECKED_SECONDS`): where its failure shows late, the query failing is far more
likely to have been ended while it ran than to have been sent on a link that died in that
moment (see `read_as_health_check`).
"""

import time
import weakref

from django.db import DEFAULT_DB_ALIAS, Error, connections

# A connection that ended before the request (a restart, an idle timeout, pg_terminate_backend,
# a failover) fails at its first use within a round trip, or within a proxy's or a failover's
# seconds. A query failing later was most likely running when its session ended: a runaway
# query ended by an operator has run far longer.
FAILED_AT_ONCE_SECONDS = 5.0

# Links die silently while idle (a firewall or NAT forgetting a quiet flow, a network down
# while nothing was sent), and such a link is only found out by a timeout. A busy worker's
# connection is idle for milliseconds between requests, so under load, where the round trip
# counts, its page queries go on standing in for the check; one idle for longer gets Django's
# own `SELECT 1` first, which waits out a dead link and replaces it (review r37).
IDLE_CHECKED_SECONDS = 1.0

# Each connection wrapper's link when it last answered a read run here, and when. The link is
# kept with the time: one replaced since is another link (and sqlite3's links cannot be weakly
# referenced). Only an answer counts: a request that sent no query (a page cache hit with Redis
# or a trusted watch, a static answer) leaves the link as idle as it was.
_answered = weakref.WeakKeyDictionary()


def _note_answered(connection):
    _answered[connection] = (connection.connection, time.monotonic())


def _idle_for_long(connection):
    link, answered_at = _answered.get(connection, (None, None))
    # No read of ours answered on this link (a new one, or used by other queries only): how
    # long it has been idle is not known.
    return link is not connection.connection or time.monotonic() - answered_at > IDLE_CHECKED_SECONDS


def read_as_health_check(read, using=DEFAULT_DB_ALIAS, failed_within=None):
    """`read()`, a read-only query on the connection `using`; where that connection's health
    check is due, the read is the check (see the module docstring).

    With `failed_within` (seconds; FAILED_AT_ONCE_SECONDS for a query that may run long), it
    is run again only where it failed within that long, as on a connection ended before the
    request (the case Django's check is for). One that failed later had its session ended
    under it, by an operator ending a runaway query, and fails the request, as it would after
    Django's check, rather than run a page's heaviest query twice (review r36). A link that
    died silently before the request, whose failure shows only later (ended by the settings'
    `tcp_user_timeout` after 15 s; a proxy that resets it late), would fail the request too;
    so with `failed_within` the read stands in for the check only on a link that answered a
    read run here at most IDLE_CHECKED_SECONDS ago. On one idle for longer, Django's `SELECT 1`
    runs first, waits as long and replaces the link (review r37). What is left is a link
    dying silently in the moment between two requests, as likely as one dying during a
    request, which fails it after Django's check as well."""
    connection = connections[using]
    if (
        connection.connection is None  # a new connection is not checked
        or not connection.health_check_enabled
        or connection.health_check_done
        or connection.in_atomic_block
        or (failed_within is not None and _idle_for_long(connection))  # Django's check runs first
    ):
        rows = read()
    else:
        connection.health_check_done = True
        rows = run_again_on_a_new_connection(read, using, failed_within)
    _note_answered(connection)
    return rows


def run_again_on_a_new_connection(work, using=DEFAULT_DB_ALIAS, failed_within=None):
    """`work()`, database work on the connection `using` that may safely run twice; where it
    fails on a connection that no longer works (outside a transaction), the connection is
    replaced, as Django's health check would, and `work()` run again on the new one. With
    `failed_within` (seconds), only where it failed within that long."""
    connection = connections[using]
    link = connection.connection
    started = time.monotonic()
    try:
        return work()
    except Error:
        # Not inside a transaction, managed by hand (autocommit off) too: closing would throw
        # away its uncommitted work, and a failed statement there fails the check as well.
        if connection.in_atomic_block or not connection.get_autocommit():
            raise
        if failed_within is not None and time.monotonic() - started > failed_within:
            raise
        # An atomic() in `work` that could not roll back on a broken link has already replaced
        # it, with a new one that works: the work is still to be done, on it. Otherwise,
        # whatever the driver raised (a broken link may come without an error code), the check
        # decides: a query the server refused or cancelled (a timeout) on a connection that
        # works is an error of its own; only a connection that no longer works is replaced.
        if link is None or connection.connection is link:
            if connection.is_usable():
                raise
            connection.close()
    return work()
