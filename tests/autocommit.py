"""A script managing its transactions by hand, for tests of what the page cache does then."""

from contextlib import contextmanager

from django.db import connection


@contextmanager
def autocommit_off():
    """The body runs with autocommit off on the default connection, which has it back on
    however the body ends (the test's own work may follow)."""
    connection.set_autocommit(False)
    try:
        yield
    finally:
        connection.set_autocommit(True)
