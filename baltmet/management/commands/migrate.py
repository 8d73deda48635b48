"""
Django's migrate, which also records a content change when it stops after applying some
migrations.

Data migrations change content through historical models, which send none of the signals
the page cache's content version follows; a `migrate` that ends normally moves the version
from its `post_migrate` (baltmet.content_version). Django sends that only once the whole plan
has been applied, but on PostgreSQL each migration commits on its own: when a later one fails
(or the command is interrupted), the ones before it are kept, and so are their changes.
"""

import logging

from django.core.management.commands import migrate

from baltmet.content_version import content_changed_by_migrations

logger = logging.getLogger(__name__)


class Command(migrate.Command):
    def handle(self, *args, **options):
        self._applied_any = False
        try:
            return super().handle(*args, **options)
        except BaseException:
            if self._applied_any:
                try:
                    content_changed_by_migrations(options["database"])
                except Exception:
                    # The migration's own error is the one to report, not this one.
                    logger.exception("page cache: could not record the migrations applied before the failure")
            raise

    def migration_progress_callback(self, action, migration=None, fake=False):
        if action in ("apply_success", "unapply_success"):
            self._applied_any = True
        super().migration_progress_callback(action, migration, fake)
