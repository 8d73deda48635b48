"""A warning of a state that lasts is said at most once a minute per process
(baltmet.occasional_warning): by the page cache when Redis is full, and by the check of the
database's version while it keeps failing."""

import logging

from baltmet import occasional_warning
from baltmet.occasional_warning import OccasionalWarning


def test_a_warning_repeated_within_a_minute_is_said_once_and_again_after_it(monkeypatch, caplog):
    clock = [1000.0]
    monkeypatch.setattr(occasional_warning.time, "monotonic", lambda: clock[0])
    logger = logging.getLogger("tests.occasional")
    warn = OccasionalWarning(logger)
    with caplog.at_level(logging.WARNING, logger="tests.occasional"):
        warn("Redis is full (%s)", "first")
        clock[0] += 59.9
        warn("Redis is full (%s)", "second")
        assert [record.getMessage() for record in caplog.records] == ["Redis is full (first)"]
        clock[0] += 0.1
        warn("Redis is full (%s)", "third")
        assert [record.getMessage() for record in caplog.records] == ["Redis is full (first)", "Redis is full (third)"]
        assert all(record.levelno == logging.WARNING for record in caplog.records)


def test_a_forgotten_warning_is_said_at_once(caplog):
    warn = OccasionalWarning(logging.getLogger("tests.occasional"))
    with caplog.at_level(logging.WARNING, logger="tests.occasional"):
        warn("one")
        warn("two")
        warn.forget()
        warn("three")
    assert [record.getMessage() for record in caplog.records] == ["one", "three"]
