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

The build function's parameters are annotated `datetime`, `int` or `str`. It must give a
`values()`/`values_list()`-style queryset (rows, not model instances: `from_rows()` makes
instances where the caller needs them), in which each parameter is a query parameter as it
was given: compared with, not sliced by or computed from. Compiling checks that: the query is
compiled twice, with two different sets of stand-in values, and is refused unless the SQL is
the same and the parameters differ exactly where a stand-in was put. Rows are read afresh on
every call: nothing but the SQL is kept.

On PostgreSQL the SQL is also PREPAREd, once per database session, so that PostgreSQL plans
it no more than the ORM builds it (see "Statements prepared by PostgreSQL" below).
PreparedPages gives Django's Paginator a prepared count and prepared pages.
"""

import hashlib
import inspect
import itertools
import re
import threading
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from typing import get_type_hints

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections


def prepared(build):
    """Decorator: `build(**values)` becomes a PreparedQuery (see the module docstring)."""
    return PreparedQuery(build)


# Two stand-ins for each type of parameter, never a real call's values. Several parameters of
# one type get stand-ins of their own (by their place in the signature).
_STAND_IN_TIME = datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt_timezone.utc)


def _stand_ins(kind, index):
    if kind is datetime:
        return tuple(_STAND_IN_TIME - timedelta(days=370 * (2 * index + which)) for which in (0, 1))
    if kind is int:
        return tuple(7_000_000_001 + 2 * index + which for which in (0, 1))
    if kind is str:
        return tuple(f"\x1fprepared-stand-in-{2 * index + which}" for which in (0, 1))
    raise TypeError(f"a prepared query's parameters are datetime, int or str, not {kind!r}")


class PreparedQuery:
    def __init__(self, build):
        self.build = build
        hints = get_type_hints(build)
        names = list(inspect.signature(build).parameters)
        missing = [name for name in names if name not in hints]
        if missing:
            raise TypeError(f"annotate the parameters {missing} of {build.__qualname__} with their types")
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
        not sliced itself; offset and limit are parameters, so one statement serves every page."""
        return self._compiled_for(using, values, paged=True).rows(values, offset, limit)

    def _compiled_for(self, using, values, paged=False):
        if values.keys() != self.stand_ins.keys():
            raise TypeError(f"{self.build.__qualname__} takes {sorted(self.stand_ins)}, was given {sorted(values)}")
        key = (using, paged)
        compiled = self._compiled.__dict__.get(key)
        if compiled is None:
            compiled = self._compiled.__dict__[key] = _CompiledQuery(self.build, self.stand_ins, using, paged)
        return compiled


def _adapt(connection, value):
    """`value` as the ORM passes it to the database driver."""
    return connection.ops.adapt_datetimefield_value(value) if isinstance(value, datetime) else value


class _CompiledQuery:
    def __init__(self, build, stand_ins, using, paged=False):
        connection = connections[using]
        self.using = using
        self.paged = paged
        compiled = []
        for which in (0, 1):
            values = {name: pair[which] for name, pair in stand_ins.items()}
            queryset = build(**values).using(using)
            if paged and (queryset.query.is_sliced or not queryset.ordered):
                raise RuntimeError(f"cannot read pages of {build.__qualname__}: it is sliced, or not ordered")
            compiler = queryset.query.get_compiler(using)
            sql, params = compiler.as_sql()
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

        if paged:
            # Both backends take LIMIT and OFFSET as parameters after the ORDER BY.
            self.sql += " LIMIT %s OFFSET %s"
            self.params += [0, 0]
        self.statement = _server_statement(self.sql, self.params) if _prepares_on_server(connection) else None

    def rows(self, values, offset=0, limit=None):
        connection = connections[self.using]
        params = list(self.params)
        for position, name in self.positions.items():
            params[position] = _adapt(connection, values[name])
        if self.paged:
            params[-2:] = [limit, offset]
        with connection.cursor() as cursor:
            if self.statement is None:
                cursor.execute(self.sql, params)
            else:
                self.statement.execute(connection, cursor, params)
            rows = cursor.fetchall()
        # The compiler's converters turn the database's values into Python's, as the ORM would.
        return list(self.compiler.results_iter(results=[rows], tuple_expected=True))


# --- Statements prepared by PostgreSQL ---------------------------------------------------
#
# PostgreSQL plans a query each time it is sent: for the region profile's query 0.46 ms, twice
# running it. A statement PREPAREd once per database session is planned from then on only when
# PostgreSQL finds a plan for any values no worse (after five runs; plan_cache_mode).

def _prepares_on_server(connection):
    # SQL-level PREPARE lives in one database session: a pooler that hands each transaction to
    # another session (PgBouncer's transaction pooling) needs DJANGO_DB_PREPARED_STATEMENTS=0 (settings).
    return connection.vendor == "postgresql" and settings.DATABASE_PREPARED_STATEMENTS


# Parameter types a statement declares, by the Python type the ORM passes (bool before int,
# datetime before date: subclasses first).
_SERVER_TYPES = (
    (bool, "boolean"),
    (int, "bigint"),
    (str, "text"),
    (datetime, "timestamptz"),
    (date, "date"),
    (Decimal, "numeric"),
    (float, "double precision"),
)


def _server_type(value):
    return next((name for kind, name in _SERVER_TYPES if isinstance(value, kind)), None)


def _server_statement(sql, params):
    """A _ServerStatement for the ORM's `sql` with `params`, or None where a parameter's type
    has no declared type here (the query is then sent as it is)."""
    types = [_server_type(param) for param in params]
    if None in types:
        return None
    # The ORM writes %s for each parameter and %% for a literal %.
    numbers = itertools.count(1)
    text = "%".join(re.sub("%s", lambda _: f"${next(numbers)}", part) for part in sql.split("%%"))
    name = "baltmet_" + hashlib.sha1(text.encode()).hexdigest()[:20]
    declared = f" ({', '.join(types)})" if types else ""
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
        prepared_here = _prepared_in_session(connection)
        if self.name in prepared_here:
            cursor.execute(self.run, params)
        else:
            cursor.execute(f"{self.prepare}; {self.run}", params)
            prepared_here.add(self.name)


def _prepared_in_session(connection):
    """The names of the statements prepared in `connection`'s database session; a new session
    (a reconnection) starts with none."""
    session = connection.connection
    known = getattr(connection, "_baltmet_prepared", None)
    if known is None or known[0] is not session:
        known = connection._baltmet_prepared = (session, set())
    return known[1]


def from_rows(model, fields, rows, using=DEFAULT_DB_ALIAS, start=0):
    """Instances of `model` from `rows` whose values from `start` on are `fields` (attnames of
    `model`, in any order), as if loaded by a query: its other fields are deferred (read on
    access)."""
    if not rows:
        return []
    positions = {name: start + index for index, name in enumerate(fields)}
    # from_db() takes the values in the model's field order.
    attnames = [field.attname for field in model._meta.concrete_fields if field.attname in positions]
    indexes = [positions[name] for name in attnames]
    return [model.from_db(using, attnames, [row[index] for index in indexes]) for row in rows]


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
