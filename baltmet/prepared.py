"""Queries that many requests run, built and compiled by the ORM once per process, thread and
database, then run as they are or with each request's time.

For small queries, building a queryset and compiling it to SQL costs several times what
running it does: the page cache's state query took 1.3 ms to build and compile against
0.3 ms to run, the compare page's figures 0.5 ms to compile against 0.5 ms to run. A query
whose SQL depends on nothing but the time is worth compiling once:

    @prepared(now_uses=1)
    def upcoming(now):
        return Event.objects.filter(ends__gte=now).values_list("pk")

    upcoming.rows(now)     # every row, a tuple each, converted as the ORM would
    upcoming.first(now)    # the first row, or None

`build(now)` must give a `values()`/`values_list()`-style queryset (rows, not model instances:
the caller makes instances where it needs them, with `Model.from_db()`), comparing with `now`
exactly `now_uses` times; compiling checks that it does. Rows are read afresh on every call:
nothing but the SQL is kept.
"""

import threading
from datetime import datetime
from datetime import timezone as dt_timezone

from django.db import DEFAULT_DB_ALIAS, connections

# Stands for "now" while a query is compiled; never a real request's time.
PLACEHOLDER_NOW = datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt_timezone.utc)


def prepared(now_uses=0):
    """Decorator: `build(now)` becomes a PreparedQuery (see the module docstring)."""

    def decorate(build):
        return PreparedQuery(build, now_uses)

    return decorate


class PreparedQuery:
    def __init__(self, build, now_uses):
        self.build = build
        self.now_uses = now_uses
        self._compiled = threading.local()

    def rows(self, now=None, using=DEFAULT_DB_ALIAS):
        """Every row of the query run with `now`, with the ORM's conversions."""
        return self._compiled_for(using).rows(now)

    def first(self, now=None, using=DEFAULT_DB_ALIAS):
        """The first row, or None."""
        return next(iter(self.rows(now, using)), None)

    def _compiled_for(self, using):
        compiled = self._compiled.__dict__.get(using)
        if compiled is None:
            compiled = self._compiled.__dict__[using] = _CompiledQuery(self.build, self.now_uses, using)
        return compiled


class _CompiledQuery:
    def __init__(self, build, now_uses, using):
        connection = connections[using]
        self.using = using
        self.compiler = build(PLACEHOLDER_NOW).using(using).query.get_compiler(using)
        self.sql, params = self.compiler.as_sql()
        placeholder = connection.ops.adapt_datetimefield_value(PLACEHOLDER_NOW)
        self.params = list(params)
        self.now_positions = [n for n, param in enumerate(self.params) if param == placeholder]
        if len(self.now_positions) != now_uses:
            # Anything else means the queryset changed shape, and this shortcut would run it
            # with a wrong time.
            raise RuntimeError(f"cannot prepare the query {self.sql} {params}: expected {now_uses} uses of now")

    def rows(self, now):
        connection = connections[self.using]
        params = list(self.params)
        for position in self.now_positions:
            params[position] = connection.ops.adapt_datetimefield_value(now)
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        # The compiler's converters turn the database's values into Python's, as the ORM would.
        return list(self.compiler.results_iter(results=[rows], tuple_expected=True))
