"""
The full-text search index: a weighted tsvector column on articles, events and regions.

Each searchable model has a `search_vector` column (SearchVectorField, GIN-indexed) that
holds its words, stemmed in English and weighted: A for the title, B for the lead and short
facts, C for the rich-text body, whose HTML is stripped in SQL before indexing. The column
is filled by one UPDATE built here (`update_vectors`), never computed at query time:

- every Model.save() (admin, ORM) and every loaddata object (post_save with raw=True) runs
  it for that row, through the receivers at the end of this module; during `manage.py
  loaddata` (`vectors_deferred`) the loaded rows are updated at the end of the load instead,
  in its transaction, one UPDATE per model rather than one per row;
- a region's vector also holds the names of its clusters, institutions and agency, so
  saving or deleting one of those updates its region;
- a model whose save writes vectors (SavedWithSearchIndex) saves in one transaction with
  them: no search finds the row's new text missing from its vector, and outside a
  transaction the page cache announces one change, not two;
- paths that send no signals (bulk_create, QuerySet.update) must call
  `update_vectors(queryset)` themselves, or run `manage.py update_search_index`.

On SQLite (the zero-setup `make run` database) there is no tsvector: the column stays empty,
the receivers do nothing and search falls back to substring matching (baltmet.search).
"""

import threading
from contextlib import contextmanager

from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import connections, models, router, transaction
from django.db.models import F, Func, OuterRef, Subquery, TextField, Value
from django.db.models.functions import Coalesce, Concat, Replace
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

# The text search configuration: English stemming and stop words ("clusters" finds "cluster").
CONFIG = "english"

# The entities the HTML sanitiser (nh3) writes into text; everything else arrives as characters.
# "&amp;" comes last so that "&amp;lt;" becomes the text "&lt;", not "<".
_ENTITIES = (("&nbsp;", " "), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"), ("&amp;", "&"))


def search_vector_field():
    """The column: derived data, so not in forms and not in dumpdata output."""
    return SearchVectorField(null=True, blank=True, editable=False, serialize=False)


class SearchVectorIndex(GinIndex):
    """A GIN index on PostgreSQL. On other databases (SQLite for `make run`) a plain index
    with the same name on the same, always empty, column, so that migrations run
    everywhere, including SQLite's table rebuilds, which re-create every index."""

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "postgresql":
            return models.Index.create_sql(self, model, schema_editor, using=using, **kwargs)
        return super().create_sql(model, schema_editor, using=using, **kwargs)


class SavedWithSearchIndex(models.Model):
    """A model whose save also updates search vectors (its own, or its region's) through the
    receivers below: the row and the vectors are written in one transaction."""

    class Meta:
        abstract = True

    def save(self, *args, using=None, **kwargs):
        using = using or router.db_for_write(type(self), instance=self)
        # Without a savepoint, as Django saves a multi-table model: inside the caller's
        # transaction this costs nothing, and an error marks that transaction failed.
        with transaction.atomic(using=using, savepoint=False):
            super().save(*args, using=using, **kwargs)

    save.alters_data = True


def plain_text(expression):
    """An SQL expression: the text of the HTML in `expression`, tags turned into spaces."""
    text = Func(
        Coalesce(expression, Value("")),
        Value(r"<[^>]*>"),
        Value(" "),
        Value("g"),
        function="REGEXP_REPLACE",
        output_field=TextField(),
    )
    for entity, character in _ENTITIES:
        text = Replace(text, Value(entity), Value(character))
    return text


def _words(*expressions):
    """Several expressions as one text, separated by spaces, empty ones as ""."""
    parts = []
    for expression in expressions:
        if parts:
            parts.append(Value(" "))
        parts.append(Coalesce(expression, Value(""), output_field=TextField()))
    return parts[0] if len(parts) == 1 else Concat(*parts, output_field=TextField())


def _weighted(*groups):
    """setweight(to_tsvector(...), weight) || ... for [(weight, [expressions])]."""
    vector = None
    for weight, expressions in groups:
        part = SearchVector(_words(*expressions), weight=weight, config=CONFIG)
        vector = part if vector is None else vector + part
    return vector


def _joined(queryset, *fields):
    """A subquery: the `fields` of every row of `queryset` (filtered by OuterRef), as one text."""
    text = _words(*(F(field) for field in fields))
    return Subquery(
        queryset.order_by()
        .annotate(group=Value(1))
        .values("group")
        .annotate(text=StringAgg(text, delimiter=" "))
        .values("text"),
        output_field=TextField(),
    )


def article_vector():
    return _weighted(("A", [F("title")]), ("B", [F("lead")]), ("C", [plain_text(F("body"))]))


def event_vector():
    return _weighted(
        ("A", [F("title")]),
        ("B", [F("lead"), F("venue"), F("city"), F("country"), F("organisers")]),
        ("C", [plain_text(F("body"))]),
    )


def region_vector():
    from regions.models import Cluster, Institution, Organisation

    clusters = _joined(Cluster.objects.filter(region=OuterRef("pk")), "name", "niches", "description")
    institutions = _joined(Institution.objects.filter(region=OuterRef("pk")), "name", "note")
    agency = Subquery(Organisation.objects.filter(pk=OuterRef("agency_id")).values("name")[:1])
    return _weighted(
        ("A", [F("name")]),
        ("B", [F("designation"), F("country"), F("lead"), agency]),
        ("C", [plain_text(F("body")), plain_text(F("knowledge")), plain_text(F("policy")), clusters, institutions]),
    )


def lead_and_body_text():
    """What an article's or event's search excerpt is cut from: the lead and the body as plain text."""
    return _words(F("lead"), plain_text(F("body")))


def region_text():
    """What a region's search excerpt is cut from: its lead and its three texts."""
    return _words(F("lead"), plain_text(F("body")), plain_text(F("knowledge")), plain_text(F("policy")))


# Per model (app_label.model_name): the vector, the excerpt text, and the fields the vector is
# made of, so that a save(update_fields=...) touching none of them skips the update.
INDEXED = {
    "news.article": (article_vector, lead_and_body_text, {"title", "lead", "body"}),
    "news.event": (
        event_vector,
        lead_and_body_text,
        {"title", "lead", "venue", "city", "country", "organisers", "body"},
    ),
    "regions.region": (
        region_vector,
        region_text,
        {"name", "designation", "country", "lead", "agency", "body", "knowledge", "policy"},
    ),
}


def is_postgresql(using="default"):
    return connections[using].vendor == "postgresql"


def update_vectors(queryset):
    """Recompute the search vector of every row in `queryset` with one UPDATE; returns the
    number of rows. Does nothing (returns 0) on databases without full-text search."""
    if not is_postgresql(queryset.db):
        return 0
    vector, _, _ = INDEXED[queryset.model._meta.label_lower]
    return queryset.order_by().update(search_vector=vector())


def excerpt_text(model):
    """The plain-text expression search headlines are made from, for `model`."""
    return INDEXED[model._meta.label_lower][1]()


# --- Keeping the vectors current on every save path -------------------------------------


_deferred = threading.local()  # database alias: {model: pks of rows loaded, to index at the end}
_DEFERRED_BATCH = 1000


@contextmanager
def vectors_deferred(using):
    """While loaddata loads into `using` (inside its transaction): the rows it saves (raw=True),
    and the regions whose clusters, institutions or agency it saves, are indexed when the block
    ends, with one UPDATE per model and 1000 rows, not one per row, which cost a large load
    about a quarter of its time. Nothing is indexed if the block raises (the load is rolled
    back). Saves that are not raw are indexed at once, as always."""
    if getattr(_deferred, using, None) is not None:  # a load within a load: the outer one indexes
        yield
        return
    pending = {}
    setattr(_deferred, using, pending)
    try:
        yield
    finally:
        setattr(_deferred, using, None)
    for model, pks in pending.items():
        pks = sorted(pks)
        for start in range(0, len(pks), _DEFERRED_BATCH):
            update_vectors(model._default_manager.using(using).filter(pk__in=pks[start : start + _DEFERRED_BATCH]))


def _deferred_during_a_load(raw, using, model, pks):
    """True where a load is running and `pks` of `model` are left to its end (raw saves only)."""
    pending = getattr(_deferred, using, None)
    if not raw or pending is None:
        return False
    pending.setdefault(model, set()).update(pks)
    return True


@receiver(post_save, sender="news.Article", dispatch_uid="search_index_article")
@receiver(post_save, sender="news.Event", dispatch_uid="search_index_event")
@receiver(post_save, sender="regions.Region", dispatch_uid="search_index_region")
def index_saved_object(sender, instance, using="default", update_fields=None, raw=False, **kwargs):
    """After the admin, the ORM or loaddata (raw=True) saved a row, re-index that row."""
    _, _, sources = INDEXED[sender._meta.label_lower]
    if update_fields is not None and not sources & set(update_fields):
        return
    if not _deferred_during_a_load(raw, using, sender, [instance.pk]):
        update_vectors(sender._default_manager.using(using).filter(pk=instance.pk))


@receiver(post_save, sender="regions.Cluster", dispatch_uid="search_index_cluster_saved")
@receiver(post_delete, sender="regions.Cluster", dispatch_uid="search_index_cluster_deleted")
@receiver(post_save, sender="regions.Institution", dispatch_uid="search_index_institution_saved")
@receiver(post_delete, sender="regions.Institution", dispatch_uid="search_index_institution_deleted")
def index_region_of_part(sender, instance, using="default", raw=False, **kwargs):
    """A region's clusters and institutions are part of its vector."""
    from regions.models import Region

    if instance.region_id is not None and not _deferred_during_a_load(raw, using, Region, [instance.region_id]):
        update_vectors(Region.objects.using(using).filter(pk=instance.region_id))


@receiver(post_save, sender="regions.Organisation", dispatch_uid="search_index_organisation")
def index_regions_of_agency(sender, instance, using="default", raw=False, **kwargs):
    """A region's vector holds its agency's name."""
    from regions.models import Region

    regions = Region.objects.using(using).filter(agency=instance.pk)
    # During a load, the regions it has now (its regions loaded later are indexed as loaded rows).
    if not _deferred_during_a_load(raw, using, Region, regions.values_list("pk", flat=True)):
        update_vectors(regions)
