"""baltmet.prepared: a query built and compiled once, run with each call's values, reading the
database afresh every time."""

import re
import threading
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.core.paginator import Paginator
from django.db import DatabaseError, DataError, connection, connections, transaction
from django.db.models import Count, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import JSONObject, Left
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from baltmet.prepared import _PLAN_ONCE, PreparedPages, _server_statement, from_rows, prepared, related_from_row
from news.models import Article, Event
from regions.models import Figure, Region
from tests.news_factories import make_article, make_event, make_topic
from tests.query_plans import plan_nodes
from tests.regions_factories import add_figure, make_metric, make_region
from tests.subprocess_env import pages_on_sqlite

pytestmark = pytest.mark.django_db


@prepared
def _published_titles(now: datetime):
    return Article.objects.filter(publish_at__lte=now).order_by("publish_at").values_list("title")


@prepared
def _titles_by(now: datetime, status: str, after: int):
    return Article.objects.filter(publish_at__lte=now, status=status, pk__gt=after).order_by("pk").values_list("title")


def test_each_call_runs_with_its_own_values_of_every_type():
    now = timezone.now()
    first = make_article("Older", publish_at=now - timedelta(days=2))
    make_article("Newer", publish_at=now - timedelta(days=1))
    make_article("Draft", publish_at=now - timedelta(days=1), status=Article.Status.DRAFT)
    published = Article.Status.PUBLISHED
    assert _titles_by.rows(now=now, status=published, after=0) == [("Older",), ("Newer",)]
    assert _titles_by.rows(now=now, status=published, after=first.pk) == [("Newer",)]
    assert _titles_by.rows(now=now - timedelta(days=1, hours=12), status=published, after=0) == [("Older",)]
    assert _titles_by.rows(now=now, status=Article.Status.DRAFT, after=0) == [("Draft",)]


def test_sql_with_gives_the_sql_and_parameters_the_orm_gives_for_the_values():
    now = timezone.now()
    first = make_article("Older", publish_at=now - timedelta(days=2))
    make_article("Newer", publish_at=now - timedelta(days=1))
    published = Article.Status.PUBLISHED
    for values in [dict(now=now, status=published, after=0), dict(now=now, status=published, after=first.pk)]:
        sql, params = _titles_by.sql_with(**values)
        assert (sql, tuple(params)) == _titles_by.build(**values).query.sql_with_params()
        # Run inside a statement of the caller's own, as sql_with is for.
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS titles", params)
            assert cursor.fetchone()[0] == _titles_by.build(**values).count()


def test_sql_with_refuses_a_query_whose_sql_selects_more_than_its_rows():
    @prepared(plan_each_run=True)
    def distinct_titles(now: datetime):
        return Article.objects.filter(publish_at__lte=now).order_by("-publish_at").values_list("title").distinct()

    make_article("Dated")
    assert distinct_titles.rows(now=timezone.now()) == [("Dated",)]
    with pytest.raises(TypeError, match="read it with rows"):
        distinct_titles.sql_with(now=timezone.now())


def test_rows_are_read_afresh_on_every_call():
    now = timezone.now()
    assert _published_titles.rows(now=now) == []
    make_article("Just in", publish_at=now - timedelta(minutes=1))
    assert _published_titles.rows(now=now) == [("Just in",)]


def test_values_come_converted_as_the_orm_gives_them():
    make_article("Dated")

    @prepared
    def as_json(now: datetime):
        # The driver gives JSON as text; the ORM's converter decodes it.
        return Article.objects.filter(publish_at__lte=now).values_list(JSONObject(title="title"))

    assert as_json.first(now=timezone.now()) == ({"title": "Dated"},)


def test_a_value_computed_from_a_parameter_is_refused():
    # Compiled once, the day before would stay the stand-in's day before.
    @prepared
    def since_the_day_before(now: datetime):
        return Article.objects.filter(publish_at__gte=now - timedelta(days=1)).values_list("pk")

    with pytest.raises(RuntimeError, match="cannot prepare"):
        since_the_day_before.rows(now=timezone.now())


def test_a_parameter_used_as_given_and_also_computed_from_is_refused():
    @prepared
    def recent(now: datetime):
        return Article.objects.filter(publish_at__lte=now, updated__gte=now - timedelta(days=1)).values_list("pk")

    with pytest.raises(RuntimeError, match="cannot prepare"):
        recent.rows(now=timezone.now())


@pytest.mark.parametrize(
    "transform",
    [
        str.lower,
        str.strip,
        lambda now: now.replace(hour=23, minute=59, second=59, microsecond=999999),
        lambda now: min(now, datetime(2030, 1, 1, tzinfo=dt_timezone.utc)),
    ],
    ids=["lower", "strip", "end of the day", "the earlier of two times"],
)
def test_a_parameter_changed_before_it_is_compared_is_refused(transform):
    @prepared
    def by_title(title: str):
        return Article.objects.filter(title=transform(title)).values_list("pk")

    @prepared
    def by_time(now: datetime):
        return Article.objects.filter(publish_at__lte=transform(now)).values_list("pk")

    query, value = (by_title, "Title") if transform in (str.lower, str.strip) else (by_time, timezone.now())
    with pytest.raises(RuntimeError, match="cannot prepare"):
        query.rows(**{"title" if query is by_title else "now": value})


@pytest.mark.parametrize("transform", [lambda n: n + 1, lambda n: max(n, 30020)], ids=["plus one", "max"])
def test_a_number_changed_before_it_is_compared_is_refused(transform):
    @prepared
    def after(n: int):
        return Article.objects.filter(pk__gt=transform(n)).values_list("pk")

    with pytest.raises(RuntimeError, match="cannot prepare"):
        after.rows(n=5)


def test_a_parameter_written_into_the_sql_itself_is_refused():
    @prepared
    def echoed(word: str):
        return Article.objects.filter(title=word).annotate(echo=RawSQL(f"'{word.strip()}'", [])).values_list("pk", "echo")

    with pytest.raises(RuntimeError, match="cannot prepare"):
        echoed.rows(word="news")


def test_a_parameter_the_orm_rewrites_is_refused():
    @prepared
    def containing(word: str):
        return Article.objects.filter(title__contains=word).values_list("pk")

    with pytest.raises(RuntimeError, match="cannot prepare"):
        containing.rows(word="news")


def test_a_slice_by_a_parameter_is_refused():
    @prepared
    def first_ones(count: int):
        return Article.objects.order_by("pk").values_list("pk")[:count]

    with pytest.raises(RuntimeError, match="cannot prepare"):
        first_ones.rows(count=3)


def test_an_unused_parameter_is_refused():
    @prepared
    def ignoring(now: datetime):
        return Article.objects.values_list("pk")

    with pytest.raises(RuntimeError, match="cannot prepare"):
        ignoring.rows(now=timezone.now())


def test_parameters_must_be_annotated_and_given_by_name():
    with pytest.raises(TypeError, match="annotate"):

        @prepared
        def unannotated(now):
            return Article.objects.values_list("pk")

    with pytest.raises(TypeError, match="takes"):
        _published_titles.rows(timezone.now())
    with pytest.raises(TypeError, match="takes"):
        _published_titles.rows(now=timezone.now(), region=1)


def test_from_rows_makes_instances_with_the_other_fields_deferred():
    article = make_article("Whole", lead="A lead.")
    [row] = Article.objects.filter(pk=article.pk).values_list("title", "id")
    [loaded] = from_rows(Article, ["title", "id"], [row])
    assert (loaded.pk, loaded.title, loaded._state.adding) == (article.pk, "Whole", False)
    assert loaded.get_deferred_fields() >= {"lead", "body"}
    assert loaded.lead == "A lead."


def test_related_from_row_is_none_where_the_joined_row_is_missing():
    with_event = make_article("With event", event=make_event("Summit"))
    make_article("Without event")
    fields = ["id", "title"]
    rows = Article.objects.order_by("title").values_list("title", "event__id", "event__title")
    [(event, title), (no_event, _)] = [(related_from_row(Event, fields, row, start=1), row[0]) for row in rows]
    assert (title, event.pk, event.title) == ("With event", with_event.event_id, "Summit")
    assert no_event is None


# Statements prepared by PostgreSQL, once per database session


def _titles_after():
    @prepared
    def titles_after(after: int):
        return Article.objects.filter(pk__gt=after).annotate(share=RawSQL("'100%%'", [])).values_list("title", "share")

    return titles_after


def test_a_query_is_prepared_once_per_session_then_executed():
    make_article("Prepared")
    titles_after = _titles_after()
    with CaptureQueriesContext(connection) as first:
        assert titles_after.rows(after=0) == [("Prepared", "100%")]
    with CaptureQueriesContext(connection) as second:
        assert titles_after.rows(after=0) == [("Prepared", "100%")]
        assert titles_after.rows(after=10**9) == []
    assert len(first.captured_queries) == 1, "PREPARE and EXECUTE in one round trip"
    assert first.captured_queries[0]["sql"].startswith("PREPARE baltmet_")
    assert [query["sql"].split("(")[0] for query in second.captured_queries] == [
        "EXECUTE " + first.captured_queries[0]["sql"].split()[1]
    ] * 2


@pytest.mark.django_db(transaction=True)
def test_a_new_database_session_prepares_the_query_again():
    make_article("Still here")
    titles_after = _titles_after()
    assert titles_after.rows(after=0) == [("Still here", "100%")]
    connection.close()
    with CaptureQueriesContext(connection) as again:
        assert titles_after.rows(after=0) == [("Still here", "100%")]
    # A new session is also told to plan it once (see the tests of _PLAN_ONCE below).
    assert again.captured_queries[0]["sql"].startswith(f"{_PLAN_ONCE}; PREPARE baltmet_")


@pytest.mark.django_db(transaction=True)
def test_another_thread_prepares_the_query_in_its_own_database_session():
    # Django gives each thread its own connection: a statement prepared in one session is
    # unknown to the other's, and each thread compiles the query for itself.
    make_article("Seen by both")
    titles_after = _titles_after()
    assert titles_after.rows(after=0) == [("Seen by both", "100%")]

    def in_another_thread():
        try:
            with CaptureQueriesContext(connections["default"]) as queries:
                found["rows"] = titles_after.rows(after=0)
            found["sql"] = [query["sql"].removeprefix(f"{_PLAN_ONCE}; ") for query in queries.captured_queries]
        finally:
            connections.close_all()

    found = {}
    worker = threading.Thread(target=in_another_thread)
    worker.start()
    worker.join()
    assert found["rows"] == [("Seen by both", "100%")]
    assert found["sql"][0].startswith("PREPARE baltmet_")


@pytest.fixture(scope="module")
def second_alias(django_db_setup, django_db_blocker):
    """A second database alias, with a connection of its own to the same test database, as a
    project with two aliases for one database (or for two) would have. Module-scoped, so that
    it exists before the test case's set-up, which checks every alias a test names."""
    connections.settings["second"] = dict(connections["default"].settings_dict)
    try:
        yield "second"
    finally:
        with django_db_blocker.unblock():
            connections["second"].close()
        del connections["second"]
        del connections.settings["second"]


@pytest.mark.django_db(transaction=True, databases=["default", "second"])
def test_each_database_alias_prepares_the_query_in_its_own_session(second_alias):
    # Review r29g: what is known of the statements a session holds is kept with each
    # connection, and the compiled query with each alias; a record for the process would
    # EXECUTE in the second alias's session a statement only the first one has.
    make_article("Seen through both")
    titles_after = _titles_after()
    runs = {}
    for using in ("default", second_alias, "default", second_alias):
        with CaptureQueriesContext(connections[using]) as queries:
            assert titles_after.rows(using=using, after=0) == [("Seen through both", "100%")]
        sent = [query["sql"].removeprefix(f"{_PLAN_ONCE}; ") for query in queries.captured_queries]
        runs.setdefault(using, []).append([sql.split("(")[0] for sql in sent])
    for using, (first, second) in runs.items():
        assert len(first) == 1 and first[0].startswith("PREPARE baltmet_"), (using, first)
        assert second == ["EXECUTE " + first[0].split()[1]], (using, second)
    with connections[second_alias].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'baltmet_%%'")
        assert cursor.fetchone()[0] >= 1


def _plan_cache_mode():
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return cursor.fetchone()[0]


def _plans_of(query):
    name = query._compiled_for("default", {"now": timezone.now()}).statement.name
    with connection.cursor() as cursor:
        cursor.execute("SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = %s", [name])
        return cursor.fetchone()


def _list_on_days_ahead(days):
    """The published titles, run once for each of the next `days` days (a value each time)."""
    for day in range(days):
        assert _published_titles.rows(now=timezone.now() + timedelta(days=day)) == [("Listed",)]


@pytest.mark.django_db(transaction=True)
def test_a_session_plans_its_statements_once_from_its_first_run_outside_a_transaction():
    # Left to choose, PostgreSQL planned a list by the time afresh on every run (~0.07 ms of
    # its 0.2), estimating a plan for `publish_at <= $1` dearer than for a known time.
    make_article("Listed")
    connection.close()  # a session of its own
    with transaction.atomic():
        assert _published_titles.rows(now=timezone.now()) == [("Listed",)]
        # Not set inside a transaction, which a rollback would undo.
        assert _plan_cache_mode() == "auto"
    _list_on_days_ahead(8)
    assert _plan_cache_mode() == "force_generic_plan"
    assert _plans_of(_published_titles) == (8, 1)


@pytest.mark.django_db(transaction=True)
def test_a_session_a_pooler_reset_plans_its_statements_once_again():
    make_article("Listed")
    assert _published_titles.rows(now=timezone.now()) == [("Listed",)]
    with connection.cursor() as cursor:
        cursor.execute("DISCARD ALL")  # as PgBouncer does between clients: settings and statements gone
    assert _plan_cache_mode() == "auto"
    _list_on_days_ahead(3)
    assert _plan_cache_mode() == "force_generic_plan"
    assert _plans_of(_published_titles) == (3, 0)


@pytest.mark.django_db(transaction=True)
def test_a_transaction_opened_by_hand_gets_no_plan_setting_and_its_own_errors():
    # Review r43: with autocommit turned off by hand, the setting was not kept from the
    # transaction (nor tested), and a statement gone from the session was run again inside the
    # failed transaction, whose "current transaction is aborted" hid the error.
    make_article("Listed")
    connection.close()  # a session of its own
    transaction.set_autocommit(False)
    try:
        assert _published_titles.rows(now=timezone.now()) == [("Listed",)]
        assert _plan_cache_mode() == "auto"
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE ALL")
        with pytest.raises(DatabaseError) as raised:
            _published_titles.rows(now=timezone.now())
        assert raised.value.__cause__.pgcode == "26000"  # prepared statement does not exist
        transaction.rollback()
    finally:
        transaction.set_autocommit(True)
    assert _published_titles.rows(now=timezone.now()) == [("Listed",)]
    assert _plan_cache_mode() == "force_generic_plan"


def test_statements_are_not_prepared_when_turned_off(settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    make_article("Plain")
    titles_after = _titles_after()
    with CaptureQueriesContext(connection) as queries:
        assert titles_after.rows(after=0) == [("Plain", "100%")]
    assert queries.captured_queries[0]["sql"].startswith("SELECT")


def test_a_parameter_of_a_type_without_a_declared_one_is_sent_unprepared():
    assert _server_statement("SELECT %s", [object()], {0}) is None
    statement = _server_statement("SELECT %s || '%%' || %s", [True, "x"], set())
    assert statement.prepare == "PREPARE " + statement.name + " (boolean, text) AS SELECT $1 || '%%' || $2"


def test_a_number_fixed_in_the_query_is_an_integer_and_a_parameter_a_bigint():
    make_article("A long enough title")

    @prepared
    def short_titles(after: int):
        # left() takes an integer: as a bigint, PostgreSQL would find no such function.
        return Article.objects.filter(pk__gt=after).values_list(Left("title", 8))

    assert short_titles.rows(after=0) == [("A long e",)]
    assert short_titles.rows(after=2**40) == []


def test_the_same_sql_selecting_values_of_other_types_is_another_statement():
    make_article("Typed")

    @prepared
    def flagged(after: int):
        return Article.objects.filter(pk__gt=after).annotate(flag=Value(True)).values_list("flag")

    @prepared
    def numbered(after: int):
        return Article.objects.filter(pk__gt=after).annotate(flag=Value(1)).values_list("flag")

    assert (flagged.rows(after=0), numbered.rows(after=0)) == ([(True,)], [(1,)])


def test_a_failed_first_run_leaves_the_query_usable_in_the_session():
    make_article("Survivor")

    @prepared
    def titles_after(after: int):
        # SQL of its own, so that this test prepares it first in the session.
        marked = Article.objects.filter(pk__gt=after).annotate(mark=RawSQL("'failed first run'", []))
        return marked.values_list("title", "mark")

    # Its PREPARE is kept although the EXECUTE sent with it fails.
    with pytest.raises(DataError), transaction.atomic():
        titles_after.rows(after=2**63)
    assert titles_after.rows(after=0) == [("Survivor", "failed first run")]
    with pytest.raises(DataError), transaction.atomic():
        titles_after.rows(after=2**63)
    assert titles_after.rows(after=0) == [("Survivor", "failed first run")]


def test_after_a_failed_run_the_session_starts_again_from_none_even_if_other_queries_ran():
    make_article("Survivor")

    @prepared
    def other(after: int):
        return Article.objects.filter(pk__gt=after).annotate(mark=RawSQL("'another query'", [])).values_list("mark")

    @prepared
    def fails_first(after: int):
        return Article.objects.filter(pk__gt=after).annotate(mark=RawSQL("'fails first'", [])).values_list("mark")

    assert other.rows(after=0) == [("another query",)]
    with pytest.raises(DataError), transaction.atomic():
        fails_first.rows(after=2**63)  # its PREPARE is kept
    # The page's next query is one the session holds; then the one whose first run failed.
    assert other.rows(after=0) == [("another query",)]
    assert fails_first.rows(after=0) == [("fails first",)]


def _region_names():
    @prepared
    def names(after: int):
        return Region.objects.filter(pk__gt=after).values_list("name")

    return names


@pytest.mark.django_db(transaction=True)
def test_a_statement_gone_from_the_session_is_prepared_again():
    # As after a pooler's DISCARD ALL, or anything else that deallocates behind our back.
    make_region("riga")
    names = _region_names()
    assert names.rows(after=0) == [("Riga",)]
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert names.rows(after=0) == [("Riga",)], "outside a transaction, at once"
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    with pytest.raises(DatabaseError), transaction.atomic():
        names.rows(after=0)
    assert names.rows(after=0) == [("Riga",)], "inside one, from the next transaction on"


@pytest.mark.django_db(transaction=True)
def test_a_statement_a_migration_made_stale_is_prepared_afresh():
    # A deploy migrates (here: a longer region name) while this process keeps its connection.
    make_region("riga")
    names = _region_names()
    assert names.rows(after=0) == [("Riga",)]
    try:
        with connection.cursor() as cursor:
            cursor.execute('ALTER TABLE regions_region ALTER COLUMN "name" TYPE varchar(120)')
        assert names.rows(after=0) == [("Riga",)], "outside a transaction, at once"
        with connection.cursor() as cursor:
            cursor.execute('ALTER TABLE regions_region ALTER COLUMN "name" TYPE varchar(100)')
        with pytest.raises(DatabaseError, match="cached plan must not change result type"), transaction.atomic():
            names.rows(after=0)
        assert names.rows(after=0) == [("Riga",)], "inside one, from the next transaction on"
    finally:
        with connection.cursor() as cursor:
            cursor.execute('ALTER TABLE regions_region ALTER COLUMN "name" TYPE varchar(100)')
        connection.close()  # no statement of the altered table left for the next tests


def test_an_integer_parameter_compares_with_small_integer_columns():
    riga = make_region("riga")
    metric = make_metric("population")
    add_figure(riga, metric, 700000, year=2007)

    @prepared
    def values_of(year: int):
        return Figure.objects.filter(year=year).values_list("value")

    assert values_of.rows(year=2007) == [(700000,)]
    assert values_of.rows(year=2008) == []


def test_values_the_orm_would_convert_or_refuse_are_refused():
    with pytest.raises(TypeError, match="must be a datetime"):
        _published_titles.rows(now=None)
    with pytest.raises(ValueError, match="aware"):
        _published_titles.rows(now=datetime(2026, 1, 1))
    with pytest.raises(TypeError, match="must be a int"):
        _titles_by.rows(now=timezone.now(), status="published", after=True)


# Pages of a list


@prepared(one_row_per_key=True)
def _titles_newest_first(now: datetime):
    return Article.objects.filter(publish_at__lte=now).order_by("-publish_at", "-pk").values_list("title")


@prepared
def _number_published(now: datetime):
    return Article.objects.filter(publish_at__lte=now).order_by().values("status").annotate(n=Count("pk")).values_list("n")


def test_a_distinct_query_ordered_by_what_it_does_not_select_gives_the_rows_the_orm_does():
    now = timezone.now()
    make_article("Older", publish_at=now - timedelta(days=2))
    make_article("Newer", publish_at=now - timedelta(days=1))

    @prepared
    def distinct_titles(now: datetime):
        # The ORM selects the ordering column too (DISTINCT needs it), and leaves it out of the rows.
        return Article.objects.filter(publish_at__lte=now).order_by("-publish_at").distinct().values_list("title")

    expected = list(distinct_titles.build(now=now))
    assert expected == [("Newer",), ("Older",)]
    assert distinct_titles.rows(now=now) == expected
    assert distinct_titles.rows_at(1, 5, now=now) == expected[1:]


def test_rows_at_reads_the_slice_the_queryset_would_with_one_statement():
    now = timezone.now()
    for day in range(1, 8):
        make_article(f"Day {day}", publish_at=now - timedelta(days=day))
    expected = [(title,) for title in Article.objects.order_by("-publish_at", "-pk").values_list("title", flat=True)]
    with CaptureQueriesContext(connection) as queries:
        for offset, limit in [(0, 3), (3, 3), (6, 3), (9, 3), (2, 0)]:
            assert _titles_newest_first.rows_at(offset, limit, now=now) == expected[offset : offset + limit]
    assert len({re.search(r"baltmet_\w+", query["sql"])[0] for query in queries.captured_queries}) == 1


def test_rows_at_refuses_a_query_without_an_order_or_already_sliced():
    @prepared
    def unordered(now: datetime):
        return Article.objects.filter(publish_at__lte=now).order_by().values_list("pk")

    @prepared
    def sliced(now: datetime):
        return Article.objects.filter(publish_at__lte=now).order_by("pk").values_list("pk")[:5]

    for query in (unordered, sliced):
        with pytest.raises(RuntimeError, match="cannot read pages"):
            query.rows_at(0, 10, now=timezone.now())


def test_a_page_deep_in_a_list_is_the_same_slice_read_through_its_keys(monkeypatch):
    from baltmet import prepared as prepared_module

    monkeypatch.setattr(prepared_module, "DEEP_OFFSET", 3)
    now = timezone.now()
    for day in range(1, 8):
        make_article(f"Day {day}", publish_at=now - timedelta(days=day))
    make_article("Same moment", publish_at=now - timedelta(days=4))  # a tie, decided by the key
    make_article("Tomorrow", publish_at=now + timedelta(days=1))
    expected = [(title,) for title in Article.objects.filter(publish_at__lte=now).order_by("-publish_at", "-pk").values_list("title", flat=True)]
    with CaptureQueriesContext(connection) as queries:
        for offset, limit in [(0, 3), (2, 3), (3, 3), (4, 2), (6, 3), (7, 3), (9, 3), (5, 0)]:
            assert _titles_newest_first.rows_at(offset, limit, now=now) == expected[offset : offset + limit]
    sent = [query["sql"] for query in queries.captured_queries]
    near, deep = {re.search(r"baltmet_\w+", sql)[0] for sql in sent[:2]}, {re.search(r"baltmet_\w+", sql)[0] for sql in sent[2:]}
    assert len(near) == len(deep) == 1 and near != deep  # one statement before DEEP_OFFSET, one from it
    prepare_deep = next(sql for sql in sent[2:] if "PREPARE" in sql)
    # From DEEP_OFFSET the page is found among the ordered keys alone, then read whole.
    # (and the page's rows in the same order, with no LIMIT or OFFSET of their own)
    keys_first = (
        r'"id" IN \(WITH page_keys AS MATERIALIZED \(SELECT "news_article"\."id" AS "pk" FROM .* '
        r'LIMIT \$\d+ OFFSET \$\d+\) SELECT \* FROM page_keys\)\) ORDER BY [^()$]*; EXECUTE'
    )
    assert re.search(keys_first, prepare_deep), prepare_deep


def test_a_deep_page_reads_its_keys_once_whatever_plan_postgresql_picks(monkeypatch):
    # Planner statistics from before a bulk load (autovacuum had not analysed the tables yet)
    # once made PostgreSQL run a topic's keys again for each of its articles, on the inner
    # side of a nested loop: a deep topic page ran for more than twelve minutes in `make test`.
    # Here the planner is pushed to that plan; the keys must still be read once.
    from baltmet import prepared as prepared_module

    monkeypatch.setattr(prepared_module, "DEEP_OFFSET", 2)
    topic = make_topic("Deep")
    now = timezone.now()
    for number in range(12):
        make_article(f"Deep {number}", topics=[topic], publish_at=now - timedelta(hours=number + 1))
    expected = [f"Deep {number}" for number in range(4, 8)]
    with CaptureQueriesContext(connection) as queries:
        assert [article.title for article in Article.objects.published_pages(topic.pk)[4:8]] == expected
    [page_sql] = [query["sql"] for query in queries.captured_queries if " OFFSET " in query["sql"]]
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in ("enable_hashagg", "enable_sort", "enable_hashjoin", "enable_mergejoin", "enable_material"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {page_sql}")
        [explained] = cursor.fetchone()[0]
    plan = explained["Plan"]
    limits = [node for node in plan_nodes(plan) if node["Node Type"] == "Limit"]
    assert limits and all(node["Actual Loops"] == 1 for node in limits), [node["Actual Loops"] for node in limits]
    assert plan["Actual Rows"] == len(expected)


@prepared
def _titles_by_topic_links(now: datetime):
    # An article in two topics comes twice: not one row per key.
    return Article.objects.filter(publish_at__lte=now, topics__isnull=False).order_by("-publish_at", "-pk").values_list("title")


@prepared(one_row_per_key=True)
def _distinct_titles(now: datetime):
    return Article.objects.filter(publish_at__lte=now).order_by("-publish_at", "-pk").values_list("title").distinct()


def test_only_a_query_declared_one_row_per_key_is_read_through_its_keys(monkeypatch):
    from baltmet import prepared as prepared_module

    monkeypatch.setattr(prepared_module, "DEEP_OFFSET", 2)
    now = timezone.now()
    first, second = make_topic("First"), make_topic("Second")
    for hour in range(6):
        make_article(f"Story {hour}", topics=[first, second], publish_at=now - timedelta(hours=hour + 1))
    expected = list(Article.objects.filter(publish_at__lte=now, topics__isnull=False).order_by("-publish_at", "-pk").values_list("title"))
    assert len(expected) == 12
    for offset in range(0, 12, 3):
        assert _titles_by_topic_links.rows_at(offset, 4, now=now) == expected[offset : offset + 4]
    with pytest.raises(RuntimeError, match="one_row_per_key, but distinct"):
        _distinct_titles.rows_at(3, 4, now=now)


def test_a_topic_page_deep_in_its_list_shows_what_the_queryset_gives(monkeypatch, client):
    from baltmet import prepared as prepared_module

    monkeypatch.setattr(prepared_module, "DEEP_OFFSET", 10)
    topic, other = make_topic("Deep"), make_topic("Other")
    now = timezone.now()
    for number in range(27):
        make_article(f"Deep {number}", topics=[topic, other] if number % 3 else [topic], publish_at=now - timedelta(hours=number))
    make_article("Other only", topics=[other], publish_at=now - timedelta(hours=5))
    make_article("Draft", topics=[topic], status=Article.Status.DRAFT)
    by_queryset = Paginator(Article.objects.published().filter(topics=topic).order_by("-publish_at", "-pk"), 10)
    for number in (1, 2, 3):
        page = Article.objects.published_pages(topic.pk)
        assert [a.title for a in Paginator(page, 10).page(number)] == [a.title for a in by_queryset.page(number)]
    response = client.get(f"/news/topic/{topic.slug}/?page=3")
    html = response.content.decode()
    assert response.status_code == 200
    assert [title for title in re.findall(r">(Deep \d+)<", html)] == [a.title for a in by_queryset.page(3)]


def test_deep_pages_of_the_news_list_on_sqlite_show_the_articles_in_order(tmp_path):
    setup = """
from datetime import timedelta
from django.utils import timezone
from baltmet import prepared
from news.models import Article
prepared.DEEP_OFFSET = 10
now = timezone.now()
for number in range(35):
    Article.objects.create(title=f"Numbered {number:02}", slug=f"numbered-{number}", status="published",
                           publish_at=now - timedelta(minutes=number + 1))
"""
    urls = ["/news/?page=1", "/news/?page=2", "/news/?page=3"]
    pages = pages_on_sqlite(tmp_path, ["regions_seed", "news_seed"], urls, setup)
    titles = [re.findall(r">(Numbered \d\d)<", pages[url][1]) for url in urls]
    assert titles == [[f"Numbered {number:02}" for number in range(start, start + 10)] for start in (0, 10, 20)]


def test_prepared_pages_count_and_page_as_the_queryset_does():
    now = timezone.now()
    pages = PreparedPages(_number_published, _titles_newest_first, list, now=now)
    assert Paginator(pages, 3).count == 0 and list(Paginator(pages, 3).page(1)) == []
    for day in range(1, 8):
        make_article(f"Day {day}", publish_at=now - timedelta(days=day))
    make_article("Tomorrow", publish_at=now + timedelta(days=1))
    by_queryset = Paginator(Article.objects.filter(publish_at__lte=now).order_by("-publish_at", "-pk"), 3)
    by_prepared = Paginator(pages, 3)
    assert (by_prepared.count, by_prepared.num_pages) == (by_queryset.count, by_queryset.num_pages) == (7, 3)
    for number in (1, 2, 3):
        assert [title for (title,) in by_prepared.page(number)] == [a.title for a in by_queryset.page(number)]


def test_a_slice_ending_before_it_starts_reads_no_rows():
    # As a list's slice is; PostgreSQL refuses a negative LIMIT.
    now = timezone.now()
    make_article("Only one", publish_at=now - timedelta(days=1))
    pages = PreparedPages(_number_published, _titles_newest_first, list, now=now)
    assert pages[0:1] == [("Only one",)]
    assert pages[1:0] == [] and pages[0:0] == []


def test_the_news_pages_count_published_articles_in_one_plain_aggregate():
    topic, other = make_topic("Counted"), make_topic("Empty")
    assert Article.objects.published_pages().count() == 0
    assert Article.objects.published_pages(topic.pk).count() == 0
    for day in range(1, 4):
        make_article(f"Day {day}", topics=[topic], publish_at=timezone.now() - timedelta(days=day))
    make_article("Elsewhere")
    make_article("Tomorrow", topics=[topic], publish_at=timezone.now() + timedelta(days=1))
    make_article("Draft", topics=[topic], status=Article.Status.DRAFT)
    with CaptureQueriesContext(connection) as queries:
        counts = [Article.objects.published_pages(pk).count() for pk in (None, topic.pk, other.pk)]
    assert counts == [4, 3, 0]
    assert [Article.objects.published().count(), Article.objects.published().filter(topics=topic).count()] == counts[:2]
    # The news count as PostgreSQL holds it prepared; a topic's, planned for each topic, as sent.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s AND statement LIKE %s",
            ["%COUNT(%", '%"news_article"."status" = $%'],
        )
        statements = [statement for (statement,) in cursor.fetchall()]
    statements += [query["sql"] for query in queries.captured_queries if "news_article_topics" in query["sql"]]
    # Both counts, and not grouped: a GROUP BY reads a column of every counted row.
    assert len(statements) == 3
    assert all("COUNT(*)" in statement and "GROUP BY" not in statement for statement in statements)


def test_a_query_planned_for_each_run_is_compiled_once_and_sent_as_sql():
    @prepared(plan_each_run=True)
    def titles_of(topic: int, now: datetime):
        return Article.objects.published(now).filter(topics=topic).order_by("title").values_list("title")

    topic = make_topic("Planned")
    make_article("B", topics=[topic])
    make_article("A", topics=[topic])
    make_article("Elsewhere")
    with CaptureQueriesContext(connection) as queries:
        assert titles_of.rows(topic=topic.pk, now=timezone.now()) == [("A",), ("B",)]
        assert titles_of.rows(topic=topic.pk + 1, now=timezone.now()) == []
    assert [query["sql"].split()[0] for query in queries.captured_queries] == ["SELECT", "SELECT"]
    assert titles_of._compiled_for("default", {"topic": 1, "now": timezone.now()}) is titles_of._compiled_for(
        "default", {"topic": 2, "now": timezone.now()}
    )


def test_the_queries_of_a_topic_or_a_region_are_planned_for_each_one():
    """How many articles a topic or a region has decides the best plan: a page of a topic with
    three articles among 100 000 took 200-340 ms with the plan of one with thousands."""
    topic, region = make_topic("Rare"), make_region("Rare region")
    make_article("Rare news", topics=[topic], regions=[region])
    with CaptureQueriesContext(connection) as queries:
        pages = Article.objects.published_pages(topic.pk)
        assert pages.count() == 1 and [article.title for article in pages[0:10]] == ["Rare news"]
        assert [article.title for article in Article.objects.latest_in_region(region.pk, 5)] == ["Rare news"]
        assert [article.title for article in Article.objects.latest_published(5)] == ["Rare news"]
    kinds = [query["sql"].split()[0] for query in queries.captured_queries]
    assert kinds[:3] == ["SELECT", "SELECT", "SELECT"]
    # Those of every page of the news, whatever it shows, PostgreSQL prepares.
    assert kinds[3] in ("PREPARE", "EXECUTE")
