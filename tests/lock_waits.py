"""Whether another session of the test database is waiting for a lock: a test that needs a
child blocked on a row waits for this, not for a sleep long enough on a loaded machine."""

import time

from django.db import connection


def sessions_waiting_for_a_lock():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def wait_until_sessions_wait_for_a_lock(count=1, timeout=30):
    """Return once `count` sessions wait for a lock; fail the test if none does by `timeout`."""
    deadline = time.monotonic() + timeout
    while sessions_waiting_for_a_lock() < count:
        assert time.monotonic() < deadline, f"no {count} session(s) waiting for a lock after {timeout} s"
        time.sleep(0.01)
