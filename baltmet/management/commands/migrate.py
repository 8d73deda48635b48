"""
Django's migrate, which also records a content change when it stops after migrations
started.

Data migrations change content through historical models, which send none of the signals
the page cache's content version follows; a `migrate` that ends normally moves the version
from its `post_migrate` (baltmet.content_version). Django sends that only once the whole plan
has been applied, but on PostgreSQL each migration commits on its own, and one that is not
atomic (`atomic = False`: batched data changes, indexes built concurrently) commits as it
goes: when one fails, or the command is stopped (Ctrl-C, or SIGTERM from a deploy's timeout),
what was committed before is kept, and so are its changes.

SIGTERM, like Ctrl-C, takes effect once the statement or lock wait under way returns (a
Python handler cannot stop libpq's call): a deadline that must hold needs SIGKILL after it
(`timeout -k`), as process managers send after their grace period.
"""

import logging
import signal
import threading
from contextlib import contextmanager

from django.core.management.commands import migrate

from baltmet.content_version import content_changed_by_migrations

logger = logging.getLogger(__name__)


class Command(migrate.Command):
    def handle(self, *args, **options):
        self._started_any = False
        # Recording the change may wait for the version's row: a SIGTERM then must not end
        # the process at once, but stop the wait, which leaves the write to the exit's.
        with _sigterm_raised():
            try:
                return super().handle(*args, **options)
            except BaseException:
                if self._started_any:
                    try:
                        content_changed_by_migrations(options["database"])
                    except Exception:
                        # The migration's own error is the one to report, not this one.
                        logger.exception("page cache: could not record the migrations run before the failure")
                raise

    def migration_progress_callback(self, action, migration=None, fake=False):
        # From its start: a migration that is not atomic commits before it ends. (A faked one
        # changes nothing, and moving the version for it only makes pages again.)
        if action in ("apply_start", "unapply_start"):
            self._started_any = True
        super().migration_progress_callback(action, migration, fake)


@contextmanager
def _sigterm_raised():
    """SIGTERM raises SystemExit while the command runs, as Ctrl-C raises KeyboardInterrupt:
    by default it ends the process at once, without the handler above. Only where no one
    else handles the signal, and only in the main thread (the only one that may set it)."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)
