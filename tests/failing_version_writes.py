"""The database refusing the content version's writes (baltmet.content_version), as in a failover."""

import threading

from django.db import OperationalError

from baltmet import content_version


def database_refusing_version_writes(monkeypatch):
    """An Event, set from the start: while it is set, the database's version writes fail."""
    down = threading.Event()
    down.set()
    real_write = content_version._write_new_database_version

    def write(using):
        if down.is_set():
            raise OperationalError("the database system is starting up")
        return real_write(using)

    monkeypatch.setattr(content_version, "_write_new_database_version", write)
    return down
