"""The thread of each process that checks the database's content version against Redis's
(baltmet.database_check), on its own: how it is woken, in a process made by fork(), and what
it says when checks keep failing. What a check finds and does is in
test_performance_shared_version_follows_database.py."""

import logging
import threading
import time

import pytest
from django.db import OperationalError

from baltmet import content_version, database_check
from tests.forked_child import in_a_forked_child

checker = database_check.checker


@pytest.fixture
def checks(settings, monkeypatch):
    """Checks due every 60 s and none made yet in this process. Each check sets `under_way`,
    is held until the test sets `held`, and is counted in `made`. The thread is stopped after."""
    settings.PAGE_CACHE_DATABASE_CHECK_SECONDS = 60
    checker.stop()
    under_way, held, made = threading.Event(), threading.Event(), []

    def check(cache):
        under_way.set()
        assert held.wait(10), "the test did not let the check end"
        made.append(cache)

    monkeypatch.setattr(checker, "_check", check)
    yield under_way, held, made
    held.set()
    checker.stop()


def test_of_threads_finding_a_check_due_together_one_wakes_the_checker(checks):
    # Review r34: due() is read without the lock, so two threads may both find a check due;
    # both woke the checker, and a second check followed the first.
    under_way, held, made = checks
    assert checker.due()  # as two threads of a process find it, one after the other
    checker.start("the first thread's cache")
    assert under_way.wait(10)
    checker.start("the second thread's cache")
    held.set()
    assert checker.wait_idle(10)
    time.sleep(0.1)
    assert made == ["the first thread's cache"]
    assert not checker.due()


def _a_check_is_due_and_made():
    checked = threading.Event()
    checker._check = lambda cache: checked.set()
    if not checker.due():
        return False
    checker.start("the child's cache")
    return checked.wait(3) and checker.wait_idle(3)


def test_a_forked_child_makes_its_own_checks(checks):
    under_way, held, made = checks
    checker.start("the parent's cache")
    assert under_way.wait(10)  # the parent's thread runs, a check under way
    assert not checker.due()
    assert in_a_forked_child(_a_check_is_due_and_made), "the child took its parent's thread or last check for its own"
    held.set()
    assert checker.wait_idle(10) and made == ["the parent's cache"]


def test_a_fork_while_a_thread_holds_the_checkers_lock_leaves_the_child_able_to_check(checks):
    with checker._lock:  # as a thread in start() at the moment of the fork
        assert in_a_forked_child(_a_check_is_due_and_made), "the child waits for a lock nobody there will release"


def test_checks_that_keep_failing_are_warned_of_once_a_minute(settings, monkeypatch, caplog):
    settings.PAGE_CACHE_DATABASE_CHECK_SECONDS = 0
    checker.stop()
    monkeypatch.setattr(checker, "_say_it_failed", type(checker._say_it_failed)(database_check.logger))

    class Redis:
        def get_many(self, keys):
            return {content_version.VERSION_KEY: 7}

    def database_down(now=None):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(content_version, "shared_version", lambda cache, values: 7)
    monkeypatch.setattr(content_version, "content_state", database_down)
    try:
        with caplog.at_level(logging.WARNING, logger="baltmet.page_cache"):
            for _ in range(5):
                checker.start(Redis())
                assert checker.wait_idle(10)
            said = [record.getMessage() for record in caplog.records]
            assert len(said) == 1 and "could not compare the database's content version" in said[0], said
            assert "could not connect to server" in said[0]

            # A minute later, it is said again.
            monkeypatch.setattr(checker._say_it_failed, "_said_at", time.monotonic() - 60)
            checker.start(Redis())
            assert checker.wait_idle(10)
            assert len(caplog.records) == 2
    finally:
        checker.stop()


def test_a_checker_started_while_another_stops_is_kept_track_of(checks, monkeypatch):
    # Review r36: stop() forgot whichever thread there was after its join, one a start() made
    # meanwhile included, which then ran unknown (with its database session) beside the next.
    under_way, held, made = checks
    checker.start("before the stop")
    assert under_way.wait(10)
    held.set()
    stopping = checker._thread
    join = stopping.join

    def join_then_start(timeout=None):
        join(timeout)
        checker._read_at = None  # a check due again
        checker.start("during the stop")

    monkeypatch.setattr(stopping, "join", join_then_start)
    checker.stop()
    assert checker.wait_idle(10)
    running = [thread for thread in threading.enumerate() if thread.name == "page-cache-database-check"]
    assert running == [checker._thread], running
    checker.stop()
    assert not any(thread.name == "page-cache-database-check" for thread in threading.enumerate())
    assert made == ["before the stop", "during the stop"]
