"""Queries that many requests run, built and compiled by the ORM once per process, thread and
database, then run with each call's values.

For small queries, building a queryset and compiling it to SQL costs several times what
running it does: the page cache's state query took 1.3 ms to build and compile against
0.3 ms to run, the compare page's figures 0.5 ms to compile against 0.5 ms to run, a
region profile's 2.7 ms against 0.7 ms. A query whose SQL depends only on a few values is
worth compiling once:

    @prepared
    def upcoming(region: int, now: datetime):
        return Event.objects.filter(region_id=region, ends__gte=now).values_list("pk")

    upcoming.rows(region=3, now=now)     # every row, a tuple each, converted as the ORM would
    upcoming.first(region=3, now=now)    # the first row, or None
    upcoming.rows_at(20, 10, region=3, now=now)   # rows 20-29 of an ordered query: a page

A page from DEEP_OFFSET on of a query declared `@prepared(one_row_per_key=True)` is read
through its keys: the ordered keys alone are walked to the page's first row (an index-only
scan where an index covers the filter and order), and only the page's rows are read whole.
That is only right for a query that gives each primary key once (no to-many join that can
repeat a row, no distinct()), which compiling cannot tell: the build function says so.

The build function's parameters are annotated `datetime`, `int` or `str`. It must give a
`values()`/`values_list()`-style queryset (rows, not model instances: `from_rows()` makes
instances where the caller needs them), in which each parameter is a query parameter as it
was given: compared with, not sliced by or computed from. Compiling checks that as far as it
can: the query is compiled twice, with two different sets of stand-in values, and is refused
unless the SQL is the same and the parameters differ exactly where a stand-in was put. That
catches what changes a stand-in (see _stand_ins()), not what leaves both as they were (abs()
of a positive number, say): keep build functions to comparisons. Rows are read afresh on
every call: nothing but the SQL is kept.

On PostgreSQL the SQL is also PREPAREd, once per database session, so that PostgreSQL plans
it no more than the ORM builds it (see "Statements prepared by PostgreSQL" below), unless the
best plan depends on the values (`@prepared(plan_each_run=True)`).
PreparedPages gives Django's Paginator a prepared count and prepared pages.
"""

import functools
import hashlib
import inspect
import itertools
import re
import threading
from datetime import date, datetime
from datetime import timezone as dt_timezone
from decimal import Decimal
from typing import get_type_hints

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models.expressions import RawSQL
from django.utils import timezone

from baltmet import health_check


# From this row on, a page is read through its keys. Reading whole rows up to the page, as
# LIMIT/OFFSET does, costs more with each page: on 100 000 articles (bench/deep_pages.py) the
# news list's last page (row 79 750) took 190 ms, the planner giving up the index for a scan
# of the table and a sort on disk, against 10 ms through its keys; the largest topic's last
# page 62 ms against 19. Nearer the start it is not worth it: for the news list the keys' walk
# saves up to 1.2 ms a page before row 3000, and for a large topic PostgreSQL walks them with
# parallel workers that cost more than they save until about row 3000 (row 1000: 26 ms
# against 13).
DEEP_OFFSET = 3000
# Where the page's LIMIT and OFFSET go in the SQL of a page read through its keys.
_LIMIT, _OFFSET = object(), object()


def prepared(build=None, *, plan_each_run=False, one_row_per_key=False):
    """Decorator: `build(**values)` becomes a PreparedQuery (see the module docstring).

    `@prepared(plan_each_run=True)`: compiled once all the same, but sent to PostgreSQL as SQL
    rather than PREPAREd, so that it is planned for each run's values. For a query whose best
    plan depends on how many rows match a value: the published articles of a topic or a
    region, newest first, are best found by walking the newest articles when the topic has
    thousands and by its own few links when it has three (0.3-0.45 ms either way, on 100 000
    articles); one plan for both took 200-340 ms for the small one.

    `@prepared(one_row_per_key=True)`: the query gives each primary key at most once, so that
    its pages from DEEP_OFFSET on may be read through their keys (see the module docstring).
    """
    if build is None:
        return functools.partial(prepared, plan_each_run=plan_each_run, one_row_per_key=one_row_per_key)
    return PreparedQuery(build, plan_each_run, one_row_per_key)


# Two stand-ins for each type of parameter. A query may only compare with a parameter as it is
# given; the stand-ins are chosen so that whatever else it might do with one changes at least
# one of them, which compiling twice then shows: lower-casing or stripping a string, taking
# the start or end of a day, or the earlier or later of two times, adding to a number. The
# numbers are positive and small, to fit every integer column (Django refuses a lookup out of
# a column's range), so abs() of a number would go unseen. Several parameters of one type get
# stand-ins of their own.


def _stand_ins(kind, index):
    if kind is datetime:
        return (
            datetime(2087, 6, 13, 13, 47, 31, 123457 + index, tzinfo=dt_timezone.utc),
            datetime(1971, 3, 9, 9, 12, 53, 654321 + index, tzinfo=dt_timezone.utc),
        )
    if kind is int:
        return (30011 + 2 * index, 31013 + 2 * index)
    if kind is str:
        return (f" Stand-In A{index} ", f" sTAND-iN b{index} ")
    raise TypeError(f"a prepared query's parameters are datetime, int or str, not {kind!r}")


def _check(name, value, kind):
    # What the ORM would convert or refuse (None, a naive time) would otherwise reach the
    # database as it is.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"{name} must be a {kind.__name__}, not {value!r}")
    if kind is datetime and settings.USE_TZ and timezone.is_naive(value):
        raise ValueError(f"{name} must be an aware datetime, not {value!r}")


class PreparedQuery:
    def __init__(self, build, plan_each_run=False, one_row_per_key=False):
        self.build = build
        self.plan_each_run = plan_each_run
        self.one_row_per_key = one_row_per_key
        hints = get_type_hints(build)
        names = list(inspect.signature(build).parameters)
        missing = [name for name in names if name not in hints]
        if missing:
            raise TypeError(f"annotate the parameters {missing} of {build.__qualname__} with their types")
        self.kinds = {name: hints[name] for name in names}
        self.stand_ins = {name: _stand_ins(hints[name], index) for index, name in enumerate(names)}
        self._compiled = threading.local()

    def rows(self, using=DEFAULT_DB_ALIAS, **values):
        """Every row of the query run with `values`, with the ORM's conversions."""
        return self._compiled_for(using, values).rows(values)

    def first(self, using=DEFAULT_DB_ALIAS, **values):
        """The first row, or None."""
        return next(iter(self.rows(using, **values)), None)

    def rows_at(self, offset, limit, using=DEFAULT_DB_ALIAS, **values):
        """At most `limit` rows from the `offset`th on, as a slice [offset:offset + limit] of
        the queryset would read them: for pages of a list. The queryset must be ordered and
        not sliced itself; offset and limit are parameters, so one statement serves every page
        (with `one_row_per_key`, one before DEEP_OFFSET and another from there)."""
        paged = _DEEP if self.one_row_per_key and offset >= DEEP_OFFSET else _NEAR
        return self._compiled_for(using, values, paged).rows(values, offset, limit)

    def sql_with(self, using=DEFAULT_DB_ALIAS, **values):
        """(sql, params): the query's SQL and its parameters for `values`, to run inside a
        statement of one's own, such as a query around it; its rows are the caller's to read.
        Sent as SQL, it is planned for each run's values, as a query declared `plan_each_run`.
        Not for a query whose SQL selects more columns than its rows have (a distinct() query
        ordered by what it does not select), which only rows() cuts off."""
        compiled = self._compiled_for(using, values)
        if compiled.compiler.has_extra_select:
            raise TypeError(f"{self.build.__qualname__} selects columns its rows do not have: read it with rows()")
        return compiled.sql, compiled.params_for(values)

    def _compiled_for(self, using, values, paged=None):
        if values.keys() != self.stand_ins.keys():
            raise TypeError(f"{self.build.__qualname__} takes {sorted(self.stand_ins)}, was given {sorted(values)}")
        for name, value in values.items():
            _check(name, value, self.kinds[name])
        key = (using, paged)
        compiled = self._compiled.__dict__.get(key)
        if compiled is None:
            compiled = self._compiled.__dict__[key] = _CompiledQuery(
                self.build, self.stand_ins, using, paged, prepare_on_server=not self.plan_each_run
            )
        return compiled


def _adapt(connection, value):
    """`value` as the ORM passes it to the database driver."""
    return connection.ops.adapt_datetimefield_value(value) if isinstance(value, datetime) else value


# How a query is read: every row (None), or a page of it near the start or deep into it.
_NEAR, _DEEP = "near", "deep"


def _through_keys(queryset, using):
    """`queryset` reading only the rows whose keys come between OFFSET and LIMIT in its own
    order, its keys walked first. The page is put in as _LIMIT and _OFFSET."""
    keys_sql, keys_params = queryset.values_list("pk").query.get_compiler(using).as_sql()
    # The keys' query names its tables as the outer one does: inside it, they are its own.
    page_keys = f"{keys_sql} LIMIT %s OFFSET %s"
    if connections[using].vendor == "postgresql":
        # Read once, whatever the plan. With statistics from before a bulk load, PostgreSQL
        # may put the keys' query on the inner side of a nested loop over the list's rows and
        # run it again for each of them (a topic of 5000 articles: more than twelve minutes);
        # a materialised CTE is run once and only read again. SQLite reads an IN list once.
        page_keys = f"WITH page_keys AS MATERIALIZED ({page_keys}) SELECT * FROM page_keys"
    return queryset.filter(pk__in=RawSQL(page_keys, (*keys_params, _LIMIT, _OFFSET)))


class _CompiledQuery:
    def __init__(self, build, stand_ins, using, paged=None, prepare_on_server=True):
        connection = connections[using]
        self.using = using
        compiled = []
        for which in (0, 1):
            values = {name: pair[which] for name, pair in stand_ins.items()}
            try:
                queryset = build(**values).using(using)
                pageable = queryset.ordered and not queryset.query.is_sliced
                distinct = queryset.query.distinct
                if paged == _DEEP and pageable and not distinct:
                    queryset = _through_keys(queryset, using)
                compiler = queryset.query.get_compiler(using)
                sql, params = compiler.as_sql()
            except Exception as error:
                # e.g. a lookup that refuses a stand-in (a number out of its column's range)
                raise RuntimeError(f"cannot prepare {build.__qualname__} with stand-in values: {error!r}") from error
            if paged and not pageable:
                raise RuntimeError(f"cannot read pages of {build.__qualname__}: it is sliced, or not ordered")
            if paged == _DEEP and distinct:
                raise RuntimeError(f"{build.__qualname__} is declared one_row_per_key, but distinct() is not")
            compiled.append((compiler, sql, list(params), {name: _adapt(connection, v) for name, v in values.items()}))
        (self.compiler, self.sql, self.params, first), (_, other_sql, other_params, second) = compiled
        # Anything but the stand-ins changing with them (a value computed from a parameter, a
        # slice by one) would be kept as compiled, and the query run with wrong values.
        self.positions = {}
        others_changed = other_sql != self.sql or len(other_params) != len(self.params)
        for position, (one, other) in enumerate(zip(self.params, other_params)):
            names = [name for name in stand_ins if one == first[name] and other == second[name]]
            if names:
                self.positions[position] = names[0]
            elif one != other:
                others_changed = True
        if others_changed or set(self.positions.values()) != set(stand_ins):
            raise RuntimeError(
                f"cannot prepare {build.__qualname__}: each of its parameters {sorted(stand_ins)} must be "
                f"a query parameter as given, compared with and not computed from; compiled: {self.sql} {self.params}"
            )

        if paged == _NEAR:
            # Both backends take LIMIT and OFFSET as parameters after the ORDER BY.
            self.sql += " LIMIT %s OFFSET %s"
            self.params += [_LIMIT, _OFFSET]
        # Where the page goes: (LIMIT's position, OFFSET's), None when every row is read.
        self.page_positions = None
        if paged:
            self.page_positions = tuple(
                next(position for position, param in enumerate(self.params) if param is marker)
                for marker in (_LIMIT, _OFFSET)
            )
            for position in self.page_positions:
                self.params[position] = 0
        # Read when the query is first compiled in a process, as settings are read at start-up.
        if prepare_on_server and _prepares_on_server(connection):
            parameters = set(self.positions) | set(self.page_positions or ())
            self.statement = _server_statement(self.sql, self.params, parameters)
        else:
            self.statement = None

    def params_for(self, values, offset=0, limit=None):
        """The parameters of the SQL for `values` (and a page's `offset` and `limit`)."""
        connection = connections[self.using]
        params = list(self.params)
        for position, name in self.positions.items():
            params[position] = _adapt(connection, values[name])
        if self.page_positions:
            limit_position, offset_position = self.page_positions
            params[limit_position], params[offset_position] = limit, offset
        return params

    def rows(self, values, offset=0, limit=None):
        connection = connections[self.using]
        params = self.params_for(values, offset, limit)
        # A page's first query where the page cache read nothing before it (turned off): it is
        # the connection's health check too, sparing a `SELECT 1` round trip. A read may run
        # twice, but a page's may be heavy: not after its session ended while it ran.
        rows = health_check.read_as_health_check(
            lambda: self._fetch(connection, params), self.using, failed_within=health_check.FAILED_AT_ONCE_SECONDS
        )
        if self.compiler.has_extra_select:
            # Columns the SQL needs but the rows do not (a distinct() query's ordering), which
            # the ORM cuts off as it reads them.
            rows = [row[: self.compiler.col_count] for row in rows]
        # The compiler's converters turn the database's values into Python's, as the ORM would.
        return list(self.compiler.results_iter(results=[rows], tuple_expected=True))

    def _fetch(self, connection, params):
        with connection.cursor() as cursor:
            if self.statement is None:
                cursor.execute(self.sql, params)
            else:
                self.statement.execute(connection, cursor, params)
            return cursor.fetchall()


# --- Statements prepared by PostgreSQL ---------------------------------------------------
#
# PostgreSQL plans a query each time it is sent: for the region profile's query 0.46 ms, twice
# running it. A statement PREPAREd once per database session is planned once, for any values
# (_PLAN_ONCE). So a query whose best plan hangs on its values is not prepared
# (plan_each_run=True).

# Sent with the first statement a session runs outside a transaction (and again after a
# failure, see _ServerStatement._send): left to choose (auto), PostgreSQL planned the
# statements by the time afresh on every run, as it estimates `publish_at <= $1` to match a
# third of the rows where a known time matches nearly all (docs/performance.md). The ORM's own
# queries are never prepared by the server (psycopg2 writes the values into the SQL), so this
# reaches only the statements prepared here. Sent with them rather than as a connection option,
# which poolers such as PgBouncer refuse or drop, and which `options` in DATABASE_URL replace.
_PLAN_ONCE = "SET plan_cache_mode = force_generic_plan"


def _prepares_on_server(connection):
    # SQL-level PREPARE lives in one database session: a pooler that hands each transaction to
    # another session (PgBouncer's transaction pooling) needs DJANGO_DB_PREPARED_STATEMENTS=0 (settings).
    return connection.vendor == "postgresql" and settings.DATABASE_PREPARED_STATEMENTS


# Parameter types a statement declares, by the Python type the ORM passes (bool before int,
# datetime before date: subclasses first). Declared, since PostgreSQL cannot work out the type
# of a parameter that is only selected (a Value() annotation). A string is declared text, where
# the ORM's untyped literal takes the type of what it is compared with: compared with a citext
# or inet column, a prepared query would behave otherwise (none here is).
_SERVER_TYPES = (
    (bool, "boolean"),
    (int, "bigint"),
    (str, "text"),
    (datetime, "timestamptz"),
    (date, "date"),
    (Decimal, "numeric"),
    (float, "double precision"),
)
_INTEGER = range(-(2**31), 2**31)


def _server_type(value, is_parameter):
    name = next((name for kind, name in _SERVER_TYPES if isinstance(value, kind)), None)
    # A number fixed in the query is an integer where it fits, as functions such as left() or
    # round() take one; a parameter may be any id, so a bigint (compared with an integer
    # column just as well).
    if name == "bigint" and not is_parameter and value in _INTEGER:
        return "integer"
    return name


def _server_statement(sql, params, parameters):
    """A _ServerStatement for the ORM's `sql` with `params`, of which those at the positions
    `parameters` change from call to call; or None where a value's type has no declared type
    here (the query is then sent as it is)."""
    types = [_server_type(param, position in parameters) for position, param in enumerate(params)]
    if None in types:
        return None
    # The ORM writes %s for each parameter and %% for a literal %.
    numbers = itertools.count(1)
    text = "%".join(re.sub("%s", lambda _: f"${next(numbers)}", part) for part in sql.split("%%"))
    declared = f" ({', '.join(types)})" if types else ""
    # Named after the types too: the same SQL with a boolean or a number selected is another statement.
    name = "baltmet_" + hashlib.sha1(f"{declared} {text}".encode()).hexdigest()[:20]
    return _ServerStatement(name, f"PREPARE {name}{declared} AS {text}", len(params))


class _ServerStatement:
    def __init__(self, name, prepare, count):
        self.name = name
        # Sent through the driver with the parameters of EXECUTE: its own % are literal.
        self.prepare = prepare.replace("%", "%%")
        self.run = f"EXECUTE {name}({', '.join(['%s'] * count)})" if count else f"EXECUTE {name}"

    def execute(self, connection, cursor, params):
        """Run it with `params` on `cursor`, preparing it first where this session has not: both
        in one round trip, so a page counts one query either way."""
        # A SET inside a transaction is undone with it: _PLAN_ONCE waits for a run outside one.
        in_transaction = connection.in_atomic_block or not connection.get_autocommit()
        try:
            self._send(_session(connection), cursor, params, in_transaction)
        except DatabaseError as error:
            # The session's statement no longer fits its tables (a migration changed a column's
            # type while this process kept its connection), is gone (a pooler's DISCARD ALL),
            # or was there unknown to us. Outside a transaction nothing is lost by running it
            # again from none; inside one, the next transaction does.
            if in_transaction or _sqlstate(error) not in _STATEMENT_OUT_OF_STEP:
                raise
            self._send(_session(connection), cursor, params, in_transaction)

    def _send(self, session, cursor, params, in_transaction):
        plan_once = not session.plans_once and not in_transaction
        parts = [_PLAN_ONCE] if plan_once else []
        if session.unsure:
            # Which statements the session holds is not known: start again from none
            # (DEALLOCATE has no IF EXISTS).
            parts += ["DEALLOCATE ALL", self.prepare]
            session.prepared.clear()
        elif self.name not in session.prepared:
            parts.append(self.prepare)
        try:
            cursor.execute("; ".join([*parts, self.run]), params)
        except BaseException:
            # A PREPARE is kept when the EXECUTE sent with it fails (a timeout, a value out of
            # range, the worker interrupted), and a statement may have gone or gone stale: which
            # the session holds is no longer known, until a run that starts from none succeeds.
            # Nor is its planning, which a pooler's DISCARD ALL resets with its statements. (A
            # statement first prepared after such a reset runs as PostgreSQL chooses until one
            # prepared before it fails so: only a proxy that resets a session under its client
            # does that, and not PgBouncer's session pooling, which resets between clients.)
            session.unsure = True
            session.plans_once = False
            raise
        session.unsure = False
        session.prepared.add(self.name)
        session.plans_once = session.plans_once or plan_once


def _sqlstate(error):
    return getattr(error.__cause__, "pgcode", None)


# cached plan must not change result type, prepared statement does not exist, already exists
_STATEMENT_OUT_OF_STEP = {"0A000", "26000", "42P05"}


class _Session:
    def __init__(self, connection):
        self.connection = connection
        self.prepared = set()
        self.unsure = False
        self.plans_once = False  # _PLAN_ONCE sent, outside a transaction


def _session(connection):
    """What is known of the statements prepared in `connection`'s database session; a new
    session (a reconnection) starts with none."""
    session = getattr(connection, "_baltmet_session", None)
    if session is None or session.connection is not connection.connection:
        session = connection._baltmet_session = _Session(connection.connection)
    return session


def attnames(model, but=()):
    """The attnames of `model`'s concrete fields, but those of the fields named in `but`: what
    to read of a model for from_rows()."""
    return [field.attname for field in model._meta.concrete_fields if field.name not in but]


def from_rows(model, fields, rows, using=DEFAULT_DB_ALIAS, start=0):
    """Instances of `model` from `rows` whose values from `start` on are `fields` (attnames of
    `model`, in any order), as if loaded by a query: its other fields are deferred (read on
    access)."""
    if not rows:
        return []
    loaded, indexes = _loading_order(model, tuple(fields), start)
    return [model.from_db(using, loaded, [row[index] for index in indexes]) for row in rows]


@functools.lru_cache(maxsize=256)
def _loading_order(model, fields, start):
    # from_db() takes the values in the model's field order: those attnames, and where each is
    # in a row. The same few combinations come with every request.
    positions = {name: start + index for index, name in enumerate(fields)}
    loaded = [field.attname for field in model._meta.concrete_fields if field.attname in positions]
    return tuple(loaded), tuple(positions[name] for name in loaded)


def related_from_row(model, fields, row, using=DEFAULT_DB_ALIAS, start=0):
    """The instance of `model` in `row`, as from_rows() makes it, or None where its primary key
    is NULL: the other end of a nullable foreign key, read through its LEFT JOIN."""
    if row[start + list(fields).index(model._meta.pk.attname)] is None:
        return None
    return from_rows(model, fields, [row], using, start)[0]


class PreparedPages:
    """The rows of prepared queries as a list that Django's Paginator counts and slices: the
    number from `count_query` (one row of one value, or none for 0), each page from
    `rows_query.rows_at()`, made into what the page shows by `make(rows)`. `values` are the
    queries' parameters, the same for both, so that the count and the pages agree."""

    def __init__(self, count_query, rows_query, make, using=DEFAULT_DB_ALIAS, **values):
        self.count_query, self.rows_query, self.make = count_query, rows_query, make
        self.using, self.values = using, values

    def count(self):
        row = self.count_query.first(self.using, **self.values)
        return row[0] if row else 0

    def __getitem__(self, page):
        if not isinstance(page, slice) or page.step is not None or page.stop is None:
            raise TypeError("read a page: [start:stop]")
        start = page.start or 0
        return self.make(self.rows_query.rows_at(start, max(page.stop - start, 0), self.using, **self.values))
