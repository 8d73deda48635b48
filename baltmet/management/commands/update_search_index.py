"""Recompute the full-text search vectors of every article, event and region.

Saves through the admin, the ORM and loaddata keep the vectors current by themselves
(baltmet.search_index); this is for content written around them (bulk_create,
QuerySet.update, SQL) and after changing how the vectors are made."""

from django.core.management.base import BaseCommand

from baltmet.search_index import is_postgresql, update_vectors
from news.models import Article, Event
from regions.models import Region

BATCH = 5_000


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")

    def handle(self, *args, database="default", **options):
        if not is_postgresql(database):
            self.stdout.write("This database has no full-text search; nothing to do.")
            return
        for model in (Article, Event, Region):
            pks = list(model._default_manager.using(database).order_by("pk").values_list("pk", flat=True))
            for start in range(0, len(pks), BATCH):
                # Batches keep each UPDATE's transaction short on a large table.
                update_vectors(model._default_manager.using(database).filter(pk__in=pks[start : start + BATCH]))
            if options["verbosity"]:
                self.stdout.write(f"{model._meta.verbose_name_plural}: {len(pks)} indexed")
