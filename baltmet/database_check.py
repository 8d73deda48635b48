"""
With REDIS_URL, the check of the database's content version against Redis's, made in each
process at most every PAGE_CACHE_DATABASE_CHECK_SECONDS by a thread of its own.

A hit asks the database nothing (baltmet.page_cache), and a change recorded there alone, by a
process without REDIS_URL (a cron job, an operator's shell), moves the database's version but
not Redis's: it would show only from the next page made, in any process (review r30b). So the
first request after that long without a read of the database in its process wakes this
process's checker, and goes on without waiting for it: a database that does not answer (a
connection or a query hanging for seconds) holds up no page served from the cache (review
r34). Where the database's version moved without Redis's, the checker moves Redis's
(content_version.follow_the_database), which every process hears of, and serves none of the
pages stored before.

One thread per process, started by the first check and kept, with its database connection
(closed when unusable or past DATABASE_CONN_MAX_AGE, as a request's is) and the cache object
it was given, so that a check costs a Redis round trip and one query, not new connections
(review r35). A process made by fork() forgets its parent's thread and starts one of its own.
"""

import logging
import os
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

from baltmet import cache_failures, content_version
from baltmet.occasional_warning import OccasionalWarning

logger = logging.getLogger("baltmet.page_cache")


class _Checker:
    def __init__(self):
        # Not while the database or Redis is down at every check.
        self._say_it_failed = OccasionalWarning(logger)
        self.made = 0  # checks made by this process (for tests)
        self._forget_the_parents_thread()

    def _forget_the_parents_thread(self):
        # In a child made by fork() too, where the parent's thread does not run, and its lock
        # and events are as that thread or another of the parent's left them at that moment.
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = None
        self._stopping = False
        self._cache = None
        self._read_at = None  # time.monotonic() of this process's last read of the database's version

    def due(self):
        """Whether a check is due: PAGE_CACHE_DATABASE_CHECK_SECONDS or more since this process
        last read the database's version (a page made, or a check). None: never."""
        seconds = settings.PAGE_CACHE_DATABASE_CHECK_SECONDS
        read_at = self._read_at
        return seconds is not None and (read_at is None or time.monotonic() - read_at >= seconds)

    def read(self):
        """Note that this process read the database's version (a page made reads it)."""
        self._read_at = time.monotonic()

    def start(self, cache):
        """Wake the checker (started where this process has none) to check with `cache`, where a
        check is still due: of threads finding it due together, one wakes it (review r34). A
        check under way is not doubled, and the caller does not wait."""
        with self._lock:
            if not self.due():
                return
            self._read_at = time.monotonic()
            self._cache = cache
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(target=self._run, name="page-cache-database-check", daemon=True)
                self._thread.start()
            self._idle.clear()
            self._wake.set()

    def wait_idle(self, timeout):
        """Whether every check asked for is done within `timeout` seconds (for tests)."""
        return self._idle.wait(timeout)

    def stop(self, timeout=10):
        """End the thread, which closes its connection (for tests: a session kept open would
        hold the test database)."""
        with self._lock:
            thread, self._stopping = self._thread, True
            self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            assert not thread.is_alive(), "the database check did not end"
        with self._lock:
            # Not one a start() made meanwhile, which is left running and known (review r36).
            if self._thread is thread:
                self._thread, self._read_at = None, None

    def _run(self):
        try:
            while True:
                self._wake.wait()
                with self._lock:
                    self._wake.clear()
                    if self._stopping:
                        return
                    cache = self._cache
                close_old_connections()
                self._check(cache)
                with self._lock:
                    self.made += 1
                    if not self._wake.is_set():
                        self._idle.set()
        finally:
            connections.close_all()  # this thread's own
            self._idle.set()

    def _check(self, cache):
        try:
            if cache_failures.resting(settings.PAGE_CACHE_ALIAS):
                return
            values = cache.get_many(content_version.SHARED_KEYS)  # the version among them
            version = content_version.shared_version(cache, values)
            if version is not None:
                now = timezone.now()
                content_version.follow_the_database(cache, version, content_version.content_state(now), now, values)
        except Exception as error:
            self._say_it_failed("page cache: could not compare the database's content version with Redis's: %s", error)


checker = _Checker()
os.register_at_fork(after_in_child=checker._forget_the_parents_thread)
