"""Knowing that a value in Redis has not changed, without asking Redis each time.

A process that serves pages from its own memory has to know, on every request, that the
content version in Redis is still the one its copies were made under. Asking Redis is a round
trip, about 0.1 ms here: a fifth of what a whole cached page costs on a small machine. So
every change of the value is also announced on a Redis channel (`announce`), each process
keeps one connection subscribed to it (`Watch`), and before it trusts the value it read last
it looks, without waiting, whether anything has arrived on that connection. Anything at all
(an announcement, a closed connection, a reply it did not expect) makes the value unknown, and
the next request reads it from Redis again, as it does at least once a second anyway
(TRUST_SECONDS). While the process is not subscribed (Redis down, or a new process), the value
is always unknown; a lost subscription is taken up again at once, and `unchecked()` tells
the page cache to check what Redis came back with.

Why that is as prompt as asking: `announce` returns only after one more reply from Redis
(PING). Redis runs commands one at a time and sends all their output, announcements
included, before it reads the next command, so once that reply has come every subscriber's
announcement has been sent: on one machine it is already in the subscriber's socket, between
machines it is on the wire ahead of the reply that tells the editor the change is saved.
"""

import os
import threading
import time

# A subscription that failed is tried again after this long, not on every request.
RETRY_SECONDS = 1.0
# A value is read again after this long even with no announcement: should the connection be
# cut without either end noticing (a network partition that sends no reset), a process would
# otherwise never hear of changes. One round trip a second per process costs nothing.
TRUST_SECONDS = 1.0


def announce(client, channel):
    """Tell every `Watch` of `channel` that its value changed; returns once they have been sent it.

    `client` is a `redis.Redis` of the server the watches are subscribed to."""
    client.publish(channel, b"changed")
    client.ping()  # See the module docstring: answered only after the announcement is sent.


class Watch:
    """One process's subscription to `channel`, and the value it last read, until it changes.

    Threads share one watch: each step holds its lock, and a value read while another thread
    saw an announcement is not remembered (`remember` checks the token `get` gave)."""

    def __init__(self, make_connection, channel):
        """`make_connection()` gives an unconnected `redis.connection.Connection` to the server."""
        self._make_connection = make_connection
        self._channel = channel
        self._lock = threading.Lock()
        self._connection = None
        self._value = None
        self._token = 0
        self._retry_at = 0.0
        # Why the last try to subscribe failed (a Redis 7 user without channel access: NOPERM).
        self.subscribe_error = None
        self._trusted_until = 0.0
        self._subscription = 0  # counts the subscriptions made
        self._checked = 0  # the last one whose server was checked (see unchecked())
        self._recheck = False  # and checked again every TRUST_SECONDS

    def get(self):
        """(the value, or None when it may have changed since it was read; a token for `remember`).

        Subscribes where the watch is not (at its start, and at once when its connection
        was lost), at most once a RETRY_SECONDS after a failure."""
        with self._lock:
            if self._connection is not None:
                if self._connection_has_news():
                    self._forget()
                elif self._expired():
                    self._forget()
                    # The server too: one that took over behind this address without closing
                    # this connection (a host gone) is otherwise not noticed for a long while.
                    self._recheck = True
            if self._connection is None:
                self._subscribe()
            return self._value, self._token

    @property
    def subscribed(self):
        """Whether the watch is subscribed: changes announced from now on will reach it."""
        return self._connection is not None

    def unchecked(self):
        """Where the caller must check the server before reading from it, (the number of this
        watch's subscription, whether it is one not checked before); else None. Due for a
        subscription just made (at the start, and after the connection was lost: Redis
        restarted, failed over, or the network broke), and again every TRUST_SECONDS. Redis
        may have come back with older data than the watch last saw (a restored snapshot, a
        replica that lagged), which no announcement tells of. Every thread that finds the
        check due makes it, until one calls `checked()`."""
        with self._lock:
            if self._connection is None:
                return None
            if self._checked != self._subscription:
                return self._subscription, True
            return (self._subscription, False) if self._recheck else None

    def checked(self, subscription):
        """The server of `subscription` (from `unchecked()`) has been checked: unless the watch
        has subscribed again since, nobody needs to until the check is due again."""
        with self._lock:
            if subscription == self._subscription:
                self._checked = subscription
                self._recheck = False

    def remember(self, value, token):
        """Keep `value`, read from Redis after `get` gave `token`, until an announcement."""
        with self._lock:
            if token == self._token and self._connection is not None:
                self._value = value
                self._trusted_until = time.monotonic() + TRUST_SECONDS

    def close(self):
        with self._lock:
            self._drop()

    def _subscribe(self):
        if time.monotonic() < self._retry_at:
            return
        connection = self._make_connection()
        try:
            connection.connect()
            connection.send_command("SUBSCRIBE", self._channel)
            reply = connection.read_response(push_request=True)
            if not (isinstance(reply, list) and reply and reply[0] in (b"subscribe", "subscribe")):
                raise ValueError(f"unexpected reply to SUBSCRIBE: {reply!r}")
        except Exception as error:
            connection.disconnect()
            self.subscribe_error = error
            self._retry_at = time.monotonic() + RETRY_SECONDS
            return
        self.subscribe_error = None
        # From here on, no change is missed: what the caller reads next is current.
        self._connection = connection
        self._subscription += 1
        self._forget()

    def _connection_has_news(self):
        """Whether anything arrived (read and dropped here), or the connection broke."""
        try:
            if not self._connection.can_read(timeout=0):
                return False
            while self._connection.can_read(timeout=0):
                self._connection.read_response(push_request=True)
        except Exception:
            self._drop()
        return True

    def _expired(self):
        # Only a value held expires: forgetting also drops reads on their way (see remember()).
        return self._value is not None and time.monotonic() >= self._trusted_until

    def _forget(self):
        self._value = None
        self._token += 1

    def _drop(self):
        if self._connection is not None:
            self._connection.disconnect()
        self._connection = None
        self._forget()


_watches = {}
_watches_lock = threading.Lock()


def watch(pool, server, channel):
    """This process's `Watch` of `channel` on `server` (its URL), connecting as `pool` (a
    redis-py ConnectionPool) does.

    One per process: a forked process makes its own rather than share its parent's socket."""
    key = (os.getpid(), server, channel)
    with _watches_lock:
        found = _watches.get(key)
        if found is None:
            found = _watches[key] = Watch(lambda: pool.connection_class(**pool.connection_kwargs), channel)
        return found


def close_all():
    """Close this process's subscriptions (tests, after each one). A watch used again
    subscribes anew."""
    with _watches_lock:
        found = [each for (pid, _, _), each in _watches.items() if pid == os.getpid()]
    for each in found:
        each.close()
