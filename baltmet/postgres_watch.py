"""Knowing that the content version in PostgreSQL has not changed, without asking each time.

Without Redis, every process keeps its own copies of pages (the local-memory cache) and the
content version lives in PostgreSQL. Reading it on every request is a round trip that costs a
cached page about a fifth of its rate here (docs/performance.md). So each process that serves
pages keeps one more connection (`Watch`, a thread of its own) that LISTENs for changes, and
trusts the version it read last until one is announced.

A notification alone would not be enough: PostgreSQL delivers it to the listening sessions
after the writer's COMMIT returns, so a visitor could get the old page from another process
right after the editor was told the change was saved. The writer therefore waits until every
watch has heard (`announce_and_wait`), through an advisory lock:

- A watch trusts a version only while it holds one advisory lock in shared mode, and only a
  version it read after it took the lock. On a notification it stops trusting first, then
  lets go of the lock, then asks for it again.
- The writer, after its change is committed, closes a gate (a second advisory lock, held
  exclusively), announces the change (NOTIFY), takes the first lock in exclusive mode for a
  moment and opens the gate again. Taking the lock waits until every watch holding it has
  let go, that is, has stopped trusting what it read before the change. A watch takes its
  lock only through the gate (it holds the gate in shared mode while it asks), so it cannot
  take it back between the writer's announcement and the writer's wait, which would leave
  the writer waiting for a watch that has already heard. What a watch reads after it took
  the lock again is the new version.

With the version in Redis (baltmet.content_version), processes go by Redis's, and a writer
announces through PostgreSQL only where some watch holds a live lease (below): one of a
process started without REDIS_URL. A watch whose lease ran out before its renewal was in
place (a renewal held up) forgets what it read, since a writer may have found no lease then.

What may go wrong, and why it stays correct:

- A watch that stopped (its process paused, a network that drops packets without a reset)
  does not let go, and the writer would wait forever. The writer waits at most
  WRITER_WAIT_SECONDS, and logs which sessions held it up. By then that watch trusts nothing
  from before the change: a version is trusted for TRUST_SECONDS, counted from before it was
  read, and WRITER_WAIT_SECONDS is longer. Should announcing fail altogether, the writer
  waits TRUST_SECONDS (baltmet.content_version).
- A watch whose session has ended holds no lock, so writers do not wait for it; but its
  process may not know yet (a network that failed silently, the server's last message
  delayed) and go on trusting. So a watch holds a lease too, a row (`ContentVersionWatch`,
  its id chosen at random per connection) it renews every LEASE_RENEWAL_SECONDS with the
  server's clock plus TRUST_SECONDS, and deletes itself before it lets go of the lock; its
  process trusts nothing past TRUST_SECONDS after it sent the last renewal. A writer, once it
  has had the lock and while it still holds the gate (so no watch can take the lock and
  start a lease), waits until the leases left have run out: those of watches that did not
  let go themselves. (Asking `pg_stat_activity` which sessions still exist does not do:
  a session lets go of its locks before it leaves that view.)
- A watch notices a lost connection as soon as anything says so: an error, the server's
  last message (which psycopg2 makes a notice), the socket closing, a renewal that fails or
  goes unanswered for STATEMENT_SECONDS (its connection is asynchronous, so that nothing in
  between that keeps a dead connection looking alive can hold it forever); TCP keepalives
  and user timeouts cover a silent network at both ends. It then stops trusting and
  connects again after RETRY_SECONDS. Each `get()` also looks, without waiting, whether
  anything has arrived on the watch's connection, and does not trust the version then.
- A process that stops altogether (paused, swapping) keeps its session, and would hold every
  writer up for WRITER_WAIT_SECONDS; PostgreSQL ends a watch's session that has sent nothing
  for three seconds (`idle_session_timeout`, PostgreSQL 14 or later), as a live one renews its
  lease twice a second.
- A watch starts listening before it first takes the lock: a change committed before it
  listened was committed before it took the lock, and so before what it reads.

Each watch is one more database connection per serving process, and it needs a session of
its own: not through a pooler in transaction mode, where `DJANGO_PAGE_CACHE_LISTEN=0` turns it
off, and every request reads the version again; writers then do not announce either (the
gate is a session's lock), so every process must have the same setting.
"""

import logging
import os
import re
import secrets
import select
import threading
import time

import psycopg2
import psycopg2.extensions
import psycopg2.errors
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

CHANNEL = "baltmet_page_cache"
# Advisory locks (fixed bigints no other code uses in this database): the one the watches
# share and the writers take, and the gate a writer holds from before it announces until it
# has it, which keeps the watches from taking theirs again meanwhile.
LOCK_KEY = 7_420_192_266_505_180_001
GATE_KEY = 7_420_192_266_505_180_002
# A version read is trusted for this long at most, even with no notification, and a watch's
# lease runs this long from its last renewal.
TRUST_SECONDS = 1.0
# How often a watch renews its lease (a round trip that also shows its connection works).
LEASE_RENEWAL_SECONDS = 0.5
# How long a writer waits for the watches; longer than TRUST_SECONDS (see the docstring).
WRITER_WAIT_SECONDS = 2.0
# A watch that lost its connection, or could not connect, tries again after this long.
RETRY_SECONDS = 1.0
# While a writer holds the gate, a watch asks again after 5 ms, then less and less often.
LOCK_RETRY_SECONDS = (0.005, 0.1)
# A watch's statement not answered within this long counts as a lost connection (whatever
# sits in between may keep a dead one looking alive).
STATEMENT_SECONDS = 5.0
# How often the watch's thread looks whether it is to stop.
_WAKE_SECONDS = 0.25
# The watches' and writers' connections give up on a dead network within seconds, not TCP's
# minutes: the keepalives and user timeout at this end, and (_SESSION_SETTINGS) the server's.
_KEEPALIVES = {"keepalives_idle": 5, "keepalives_interval": 1, "keepalives_count": 3, "tcp_user_timeout": 5000}
_CONNECTION_DEFAULTS = {"connect_timeout": 5, **_KEEPALIVES}
# The server ends a watch's session that sent nothing for 3 s (its process paused: renewals
# come every LEASE_RENEWAL_SECONDS), so that it stops holding writers up; and a writer's paused
# inside its transaction, holding the gate, which idle_session_timeout does not cover (review
# r25h).
_SESSION_SETTINGS = "; ".join(
    [
        "SET statement_timeout = '5s'",
        "SET idle_session_timeout = '3s'",
        "SET idle_in_transaction_session_timeout = '3s'",
        *(f"SET {name.replace('keepalives_', 'tcp_keepalives_')} = {value}" for name, value in _KEEPALIVES.items()),
    ]
)


def _watches_table():
    from baltmet.models import ContentVersionWatch

    return ContentVersionWatch._meta.db_table


# --- The writer ---------------------------------------------------------------------------


def announce_and_wait(using=DEFAULT_DB_ALIAS):
    """Tell every `Watch` that the content version changed, and return once none trusts the
    version it read before (see the module docstring). Called after the change is committed.

    On a connection of its own, closed afterwards: the gate is a session's lock, and a session
    the writer lost while the server kept it (a network that failed silently) would otherwise
    keep the gate closed, and every watch from trusting, for as long as the server keeps it
    (hours, without keepalives). This one has the watches' timeouts and keepalives."""
    lease_left = 0
    connection = psycopg2.connect(**connection_params(using))
    try:
        connection.autocommit = True
        cursor = connection.cursor()
        cursor.execute(_SESSION_SETTINGS)
        gate = _lock_waiting_at_most(cursor, "pg_advisory_lock", GATE_KEY)
        # Autocommit: sent now, before the wait, which the watches end on hearing it.
        cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])
        if gate and _lock_waiting_at_most(cursor, "pg_advisory_xact_lock", LOCK_KEY):
            # Every watch has let go, and none can take its lock again before the gate opens:
            # a lease not ended is a watch that did not let go itself.
            lease_left = _lease_left(cursor)
        # Otherwise this waited WRITER_WAIT_SECONDS: longer than any lease.
    finally:
        connection.close()  # opens the gate
    time.sleep(lease_left)


def connection_params(using=DEFAULT_DB_ALIAS):
    """psycopg2.connect()'s keyword arguments for the database `using`, with the timeouts and
    keepalives of the watches' connections."""
    connection = connections[using]
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)  # Django's own, for its cursors
    role = connection.settings_dict["OPTIONS"].get("assume_role")
    if role:
        # Django takes it on its own connections once they are open (SET ROLE); these take it
        # as they start. Without it, a login role that does not inherit it could not use the
        # watches' table: no watch trusted, and every save waited a second (review r25h).
        escaped = re.sub(r"([\\\s])", r"\\\1", role)  # the server splits the options at any white space
        params["options"] = " ".join(filter(None, [params.get("options"), f"-c role={escaped}"]))
    # Tighter than the site's own (settings.DATABASES): a watch's lease depends on them.
    return {**params, **_CONNECTION_DEFAULTS}


def _lock_waiting_at_most(cursor, function, key):
    """Whether `function(key)` took its lock within WRITER_WAIT_SECONDS (a transaction's lock is
    let go of at once: only the wait counts)."""
    cursor.execute("BEGIN")
    try:
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute("SET LOCAL lock_timeout = %s", [f"{round(WRITER_WAIT_SECONDS * 1000)}ms"])
        cursor.execute(f"SELECT {function}(%s)", [key])
    except psycopg2.errors.LockNotAvailable:
        cursor.execute("ROLLBACK")
    else:
        cursor.execute("COMMIT")
        return True
    logger.warning(
        "page cache: waited %s s for the watches of the content version (advisory lock %s held by "
        "sessions %s); none trusts a version from before the change by now",
        WRITER_WAIT_SECONDS,
        key,
        _sessions_holding(cursor, key),
    )
    return False


def _sessions_holding(cursor, key):
    cursor.execute(
        "SELECT array_agg(pid ORDER BY pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = %s",
        [key],
    )
    return cursor.fetchone()[0]


def _lease_left(cursor):
    """Seconds until the leases still running have run out (at most TRUST_SECONDS)."""
    cursor.execute(
        f"SELECT EXTRACT(epoch FROM max(lease_until) - clock_timestamp()) FROM {_watches_table()}"
        " WHERE lease_until > clock_timestamp()"
    )
    left = cursor.fetchone()[0]
    return min(float(left), TRUST_SECONDS) if left and left > 0 else 0


# --- The watch ----------------------------------------------------------------------------


class _ConnectionLost(Exception):
    pass


class Watch:
    """One process's watch of the content version, with a thread and a connection of its own.

    Request threads call `get()` and `remember()`; each step holds the watch's lock, and a
    version read while the watch changed state is not remembered (the token `get` gave)."""

    def __init__(self, connection_params):
        """`connection_params`: psycopg2.connect()'s keyword arguments for the database."""
        self._connection_params = connection_params
        self._lock = threading.Lock()
        self._connection = None  # set while the watch holds the advisory lock
        self._value = None
        self._token = 0
        self._trusted_until = 0.0
        self._lease_until = 0.0
        self._holding = threading.Event()
        self._held = False  # since the last failure (the watch's thread alone uses it)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="page-cache-watch", daemon=True)
        self._thread.start()

    def get(self):
        """(the version, or None when it may have changed since it was read; a token for
        `remember`, to be taken before the version is read)."""
        now = time.monotonic()
        with self._lock:
            if self._value is not None and (
                now >= self._trusted_until or now >= self._lease_until or self._has_news()
            ):
                self._forget()
            return self._value, (self._token, now)

    def remember(self, value, token):
        """Trust `value`, read from the database after `get` gave `token`, until a change is
        announced (or TRUST_SECONDS from when `get` was called)."""
        number, asked_at = token
        with self._lock:
            if number == self._token and self._connection is not None:
                self._value = value
                self._trusted_until = asked_at + TRUST_SECONDS

    def wait_until_listening(self, timeout):
        """Whether the watch holds the lock (and so may trust a version) within `timeout` seconds."""
        return self._holding.wait(timeout)

    def close(self):
        self._stop.set()
        self._thread.join(timeout=STATEMENT_SECONDS + 5)
        if self._thread.is_alive():
            logger.warning("page cache: the watch of the content version did not stop")

    # --- the watch's own thread ---

    def _run(self):
        logged = None  # the cause last logged, in this outage
        while not self._stop.is_set():
            connection = None
            try:
                # Asynchronous, so that no statement waits longer than STATEMENT_SECONDS.
                connection = psycopg2.connect(**self._connection_params, async_=True)
                _wait(connection)
                self._listen(connection, connection.cursor())
            except Exception as error:
                # Once per outage and cause: meanwhile every request reads the version itself.
                # An outage ends once the watch has held its lock again: a server that connects
                # but refuses what follows (a read-only one, a table without rights) is not a
                # new one every second (review r25h); a new cause within it is logged (a server
                # unreachable, then read-only after a failover: review r25j).
                if self._held:
                    logged, self._held = None, False
                cause = (type(error), str(error))
                if cause != logged and not self._stop.is_set():
                    logger.warning("page cache: the watch of the content version lost its connection", exc_info=True)
                    logged = cause
            finally:
                self._let_go()
                if connection is not None:
                    connection.close()
            self._stop.wait(RETRY_SECONDS)

    def _listen(self, connection, cursor):
        lease = secrets.randbits(63)
        _execute(cursor, _SESSION_SETTINGS)
        # Rows of watches long gone (their leases ran out long ago) are of no more use.
        _execute(cursor, f"DELETE FROM {_watches_table()} WHERE lease_until < clock_timestamp() - interval '1 hour'")
        _execute(cursor, f"LISTEN {CHANNEL}")
        retry = LOCK_RETRY_SECONDS[0]
        while not self._stop.is_set():
            # Through the gate: not while a writer is between its announcement and its wait.
            if _execute(cursor, "SELECT pg_try_advisory_lock_shared(%s)", [GATE_KEY]):
                taken = _execute(
                    cursor,
                    "SELECT pg_try_advisory_lock_shared(%s), pg_advisory_unlock_shared(%s)",
                    [LOCK_KEY, GATE_KEY],
                )
                if taken:
                    retry = LOCK_RETRY_SECONDS[0]
                    self._renew_lease(cursor, lease)
                    connection.poll()
                    if connection.notices:
                        # Only the server's last message makes one here (see _wait_for_news).
                        raise _ConnectionLost(" ".join(connection.notices))
                    if not connection.notifies:
                        # Nothing announced since this watch last let go: versions read from
                        # now on are current until the next announcement.
                        self._hold(connection)
                        self._wait_for_news(connection, cursor, lease)
                        self._let_go()
                    connection.notifies.clear()
                    # Ended by the watch itself before it lets go: a writer waits out only
                    # the leases of watches that could not (see _lease_left).
                    _execute(cursor, f"DELETE FROM {_watches_table()} WHERE id = %s", [lease])
                    _execute(cursor, "SELECT pg_advisory_unlock_shared(%s)", [LOCK_KEY])
                    continue
            self._stop.wait(retry)
            retry = min(retry * 2, LOCK_RETRY_SECONDS[1])

    def _renew_lease(self, cursor, lease):
        sent = time.monotonic()
        _execute(
            cursor,
            f"INSERT INTO {_watches_table()} (id, lease_until)"
            " VALUES (%s, clock_timestamp() + %s * interval '1 second')"
            " ON CONFLICT (id) DO UPDATE SET lease_until = EXCLUDED.lease_until",
            [lease, TRUST_SECONDS],
        )
        # The server set the lease after this process sent the statement: this end runs out first.
        with self._lock:
            if time.monotonic() >= self._lease_until:
                # The lease ran out before this one was in place (a renewal held up): a writer
                # may have found none and not announced its change. What was read before is
                # not to be trusted again.
                self._forget()
            self._lease_until = sent + TRUST_SECONDS

    def _wait_for_news(self, connection, cursor, lease):
        renew_at = time.monotonic() + LEASE_RENEWAL_SECONDS
        while not self._stop.is_set():
            left = renew_at - time.monotonic()
            if left <= 0:
                self._renew_lease(cursor, lease)
                renew_at = time.monotonic() + LEASE_RENEWAL_SECONDS
            elif _readable(connection, min(left, _WAKE_SECONDS)):
                connection.poll()
            # psycopg2 turns the server's last message, ending the session, into a notice.
            if connection.notices or connection.closed:
                raise _ConnectionLost(" ".join(connection.notices) or "connection closed")
            if connection.notifies:
                return

    def _hold(self, connection):
        with self._lock:
            self._connection = connection
            self._forget()
        self._held = True
        self._holding.set()

    def _let_go(self):
        """Stop trusting: before the lock is let go of, or the connection closed."""
        self._holding.clear()
        with self._lock:
            self._connection = None
            self._forget()

    # --- under self._lock ---

    def _has_news(self):
        """Whether anything waits on the watch's connection (an announcement the thread has not
        read yet, the server ending the session), which the thread will read, or it is gone."""
        if self._connection is None:
            return True
        try:
            return _readable(self._connection, 0)
        except (OSError, ValueError, psycopg2.InterfaceError):
            return True

    def _forget(self):
        self._value = None
        self._token += 1


def _readable(connection, timeout, events=select.POLLIN):
    """Whether `connection`'s socket has something to read (or was closed), or with `events`
    POLLOUT can be written to, within `timeout` s."""
    poller = select.poll()  # not select.select(): a socket may be numbered 1024 or above
    poller.register(connection.fileno(), events)
    return bool(poller.poll(timeout * 1000))


def _wait(connection):
    """Wait for the asynchronous connection's connecting or statement, STATEMENT_SECONDS at most."""
    deadline = time.monotonic() + STATEMENT_SECONDS
    while True:
        state = connection.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise _ConnectionLost(f"no answer within {STATEMENT_SECONDS} s")
        _readable(connection, left, select.POLLIN if state == psycopg2.extensions.POLL_READ else select.POLLOUT)


def _execute(cursor, sql, params=None):
    """Run `sql` on the watch's connection; the first column of its row, if it returns one."""
    cursor.execute(sql, params)
    _wait(cursor.connection)
    return cursor.fetchone()[0] if cursor.description else None


_watches = {}
_watches_lock = threading.Lock()


def watch(using=DEFAULT_DB_ALIAS):
    """This process's `Watch` of the content version in the database `using`, started on first use.

    One per process: a forked process makes its own rather than share its parent's thread."""
    key = (os.getpid(), using)
    with _watches_lock:
        found = _watches.get(key)
        if found is None:
            found = _watches[key] = Watch(connection_params(using))
        return found


def close_all():
    """Stop this process's watches (tests, before their database is dropped)."""
    with _watches_lock:
        stopping = [found for (pid, _), found in _watches.items() if pid == os.getpid()]
        _watches.clear()
    for found in stopping:
        found.close()
