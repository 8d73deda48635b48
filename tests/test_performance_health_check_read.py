"""The page cache's first query of a request is also the database connection's health check
(baltmet.health_check): a hit from the local-memory cache sends no `SELECT 1` before reading
the content version, and a connection PostgreSQL dropped since the last request is replaced
without failing the request, as Django's own check would have. With the page cache turned off
(as in the benchmark's uncached pages), a page's own first query, compiled once
(baltmet.prepared), does the same.

Django runs the check after a request starts (request_started), which the test client leaves
out; `_request_starts()` does what Django would.

A page's query stands in for the check only on a connection whose link answered one of these
reads a moment ago (`health_check.IDLE_CHECKED_SECONDS`); on one idle for longer, Django's own
check runs first. The tests of the standing in take the moment to be a minute (`in_use_a_moment_ago`),
however slow the machine.
"""

import logging
import threading
import time
from types import SimpleNamespace

import pytest
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connection, connections
from django.db.models.expressions import RawSQL

from baltmet import content_version, health_check
from baltmet.health_check import read_as_health_check
from baltmet.page_cache import HEADER
from baltmet.prepared import _CompiledQuery, prepared
from regions.models import Region
from tests.news_factories import make_article
from tests.page_cache_settings import use_local_memory_page_cache
from tests.regions_factories import make_region

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def local_page_cache(settings):
    # Hits read the version here, as they do until a process's watch of it trusts one
    # (baltmet.postgres_watch), or without the watch.
    use_local_memory_page_cache(settings, listen=False)


@pytest.fixture
def health_checks(monkeypatch):
    """The times Django's health check (`is_usable()`) was run on the connection."""
    calls = []
    is_usable = connection.is_usable

    def counted():
        calls.append(1)
        return is_usable()

    monkeypatch.setattr(connection, "is_usable", counted)
    return calls


@pytest.fixture
def in_use_a_moment_ago(monkeypatch):
    monkeypatch.setattr(health_check, "IDLE_CHECKED_SECONDS", 60.0)


@pytest.fixture
def idle_for_long(monkeypatch):
    """A link that answered counts as idle for long once this has passed."""
    monkeypatch.setattr(health_check, "IDLE_CHECKED_SECONDS", 0.05)
    return lambda: time.sleep(0.1)


def _request_starts():
    connection.close_if_unusable_or_obsolete()
    # The check is now due, as at the start of a real request.
    assert connection.health_check_enabled and not connection.health_check_done


def _backend_pid():
    return connection.connection.get_backend_pid()


def _drop_connection():
    """End this connection's PostgreSQL session from another one, as a server restart would,
    and wait until it is gone."""
    pid = _backend_pid()
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
            assert cursor.fetchone() == (True,)
    finally:
        other.close()
    return pid


def test_a_hit_sends_one_query_and_no_separate_health_check(client, health_checks, django_assert_num_queries):
    make_article("Cluster news")
    assert client.get("/news/")[HEADER] == "miss"
    _request_starts()
    with django_assert_num_queries(1):
        response = client.get("/news/")
    assert response[HEADER] == "hit" and "Cluster news" in response.content.decode()
    assert health_checks == []


@pytest.mark.parametrize(
    "earlier_page, served", [("/news/", "hit"), ("/", "miss")], ids=["a hit", "a page being made"]
)
def test_a_page_asked_for_on_a_connection_postgresql_dropped_is_served_on_a_new_one(client, earlier_page, served):
    make_article("Cluster news")
    assert client.get(earlier_page)[HEADER] == "miss"  # on the connection then dropped
    dropped = _drop_connection()
    _request_starts()
    response = client.get("/news/")
    assert response.status_code == 200 and response[HEADER] == served
    assert "Cluster news" in response.content.decode()
    assert _backend_pid() != dropped


def test_a_read_that_fails_on_a_working_connection_is_not_run_again(health_checks):
    connection.ensure_connection()
    pid = _backend_pid()
    runs = []

    def slow_read():
        runs.append(1)
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 50")
            try:
                cursor.execute("SELECT pg_sleep(5)")
            finally:
                cursor.execute("RESET statement_timeout")

    _request_starts()
    with pytest.raises(OperationalError, match="statement timeout"):
        read_as_health_check(slow_read)
    assert runs == [1]
    # Asked whether the connection still works, which it does: kept.
    assert health_checks == [1]
    assert _backend_pid() == pid


def test_a_database_failing_as_a_hit_reads_the_version_is_logged_as_the_database_s_failure(client, monkeypatch, caplog):
    # Review r38: a database restarting was logged as "page cache unavailable", every request.
    make_article("Cluster news")
    assert client.get("/news/")[HEADER] == "miss"

    def database_restarting(*args, **kwargs):
        raise OperationalError("FATAL:  the database system is shutting down")

    monkeypatch.setattr(content_version, "database_version", database_restarting)
    with caplog.at_level(logging.WARNING, logger="baltmet.page_cache"):
        response = client.get("/news/")
    assert response.status_code == 200 and "Cluster news" in response.content.decode()
    said = [record.getMessage() for record in caplog.records if record.name == "baltmet.page_cache"]
    assert said == ["page cache: could not read the content version from the database"]
    assert "shutting down" in caplog.text


def _uncached_page(settings, page):
    settings.PAGE_CACHE_SECONDS = 0  # the page cache reads nothing: the page's own query comes first
    article = make_article("Cluster news")
    return article.get_absolute_url() if page == "the article" else page


@pytest.mark.parametrize("page", ["/news/", "the article"])
def test_an_uncached_page_s_first_query_is_the_health_check(client, settings, health_checks, in_use_a_moment_ago, page):
    path = _uncached_page(settings, page)
    assert client.get(path)[HEADER] == "bypass"  # the connection made, the page's statements prepared
    _request_starts()
    response = client.get(path)
    assert response.status_code == 200 and "Cluster news" in response.content.decode()
    assert health_checks == []


@pytest.fixture
def page_query_runs(monkeypatch):
    """Each run of a page's query compiled once: (the backend that ran it, the error it raised or None)."""
    runs = []
    fetch = _CompiledQuery._fetch

    def recorded(self, connection, params):
        # Read before: a broken connection says 0. A closed one (None) is opened by the run.
        backend = connection.connection and connection.connection.info.backend_pid
        try:
            rows = fetch(self, connection, params)
        except Exception as error:
            runs.append((backend, type(error)))
            raise
        runs.append((backend or connection.connection.info.backend_pid, None))
        return rows

    monkeypatch.setattr(_CompiledQuery, "_fetch", recorded)
    return runs


@pytest.mark.parametrize("page", ["/news/", "the article"])
def test_an_uncached_page_asked_for_on_a_connection_postgresql_dropped_is_served_on_a_new_one(
    client, settings, health_checks, page_query_runs, in_use_a_moment_ago, page
):
    path = _uncached_page(settings, page)
    assert client.get(path).status_code == 200  # on the connection then dropped, which prepared its statements
    dropped = _drop_connection()
    _request_starts()
    page_query_runs.clear()
    response = client.get(path)
    assert response.status_code == 200 and "Cluster news" in response.content.decode()
    assert _backend_pid() != dropped
    # Its first query failed on the dropped connection, which was then asked whether it still
    # works (once), replaced, and the query run again on the new one.
    first, again = page_query_runs[:2]
    assert first[0] == dropped and first[1] in (OperationalError, InterfaceError), first
    assert again == (_backend_pid(), None)
    assert health_checks == [1]
    # The new session has the statements prepared again; the next page runs them.
    _request_starts()
    assert "Cluster news" in client.get(path).content.decode()


SMALL_BOUND = 0.3  # seconds, for FAILED_AT_ONCE_SECONDS: the tests need not wait 5 s


def _end_session_once_it_sleeps(pid):
    """End the session `pid` from another connection once it has been in pg_sleep() for longer
    than SMALL_BOUND, however late the machine got it there: a session ended while its query ran."""

    def end():
        other = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with other.cursor() as cursor:
                for _ in range(500):
                    cursor.execute("SELECT wait_event FROM pg_stat_activity WHERE pid = %s", [pid])
                    if cursor.fetchone() == ("PgSleep",):
                        break
                    time.sleep(0.01)
                time.sleep(SMALL_BOUND * 2)
                cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
        finally:
            other.close()

    thread = threading.Thread(target=end)
    thread.start()
    return thread


@prepared
def _runaway(after: int):
    # Seconds a row, as a query gone wrong takes.
    return Region.objects.filter(pk__gt=after).annotate(slept=RawSQL("pg_sleep(5)::text", ())).values_list("pk", "slept")


def test_a_page_query_whose_session_ends_while_it_runs_is_not_run_again(
    health_checks, page_query_runs, in_use_a_moment_ago, monkeypatch
):
    # Review r36: a runaway query ended by an operator ran again at once on a new connection,
    # for up to the statement timeout again.
    monkeypatch.setattr(health_check, "FAILED_AT_ONCE_SECONDS", SMALL_BOUND)
    make_region()
    _runaway_free.rows(after=0)  # a page's query, answered a moment ago (the request before)
    page_query_runs.clear()
    pid = _backend_pid()
    ending = _end_session_once_it_sleeps(pid)
    try:
        _request_starts()
        with pytest.raises((OperationalError, InterfaceError)):
            _runaway.rows(after=0)
        assert [backend for backend, _ in page_query_runs] == [pid], "run again"
    finally:
        ending.join()
        connection.close()  # ended: the next request would replace it
    assert health_checks == [], "the query did not stand in for the check"


def test_the_version_read_whose_session_ends_while_it_runs_is_run_again(health_checks, monkeypatch):
    # The page cache's version read is tiny and passes no bound: after a failure however late
    # (later than the pages' bound), on a connection that no longer works, it is run again on
    # a new one, as after Django's own check (a connection dead before the request whose
    # failure shows late, which this stands for, is served).
    monkeypatch.setattr(health_check, "FAILED_AT_ONCE_SECONDS", SMALL_BOUND)
    connection.ensure_connection()
    pid = _backend_pid()
    runs = []

    def read():
        with connection.cursor() as cursor:
            runs.append(_backend_pid())
            cursor.execute("SELECT pg_sleep(5)" if len(runs) == 1 else "SELECT 1")
            return cursor.fetchone()

    ending = _end_session_once_it_sleeps(pid)
    try:
        _request_starts()
        assert read_as_health_check(read) == (1,)
    finally:
        ending.join()
        connection.close()
    assert runs[0] == pid and len(runs) == 2 and runs[1] != pid


@pytest.mark.parametrize("page", ["/news/", "the article"])
def test_an_uncached_page_on_a_connection_idle_for_long_has_django_s_check_first(
    client, settings, health_checks, page_query_runs, idle_for_long, page
):
    path = _uncached_page(settings, page)
    assert client.get(path).status_code == 200
    idle_for_long()
    _request_starts()
    page_query_runs.clear()
    assert "Cluster news" in client.get(path).content.decode()
    assert health_checks == [1]
    assert all(error is None for _, error in page_query_runs)


def test_an_uncached_page_on_an_idle_connection_whose_failure_shows_late_is_served_on_a_new_one(
    client, settings, health_checks, page_query_runs, idle_for_long, monkeypatch
):
    # Review r37: a link dead before the request whose failure shows only after the bound (one
    # that died silently, found out by tcp_user_timeout) failed the page. Every failure counts
    # as late here: the dropped connection's, which shows at once, stands for such a link's.
    monkeypatch.setattr(health_check, "FAILED_AT_ONCE_SECONDS", 0.0)
    path = _uncached_page(settings, "/news/")
    assert client.get(path).status_code == 200
    dropped = _drop_connection()
    idle_for_long()
    _request_starts()
    page_query_runs.clear()
    response = client.get(path)
    assert response.status_code == 200 and "Cluster news" in response.content.decode()
    # Django's check found the link dead and replaced it before the page's first query ran.
    assert _backend_pid() != dropped and health_checks == [1]
    assert page_query_runs and all(error is None for _, error in page_query_runs)


def test_a_request_that_sends_no_query_leaves_the_connection_idle(
    client, settings, health_checks, django_assert_num_queries, monkeypatch
):
    # Review r42: noted at the end of every request, a connection idle for seconds behind
    # cache hits and static answers counted as in use a moment ago. The module's clock is
    # moved by hand, so that however slow the machine, the request without a query comes
    # right before the page (review r43).
    now = [1000.0]
    monkeypatch.setattr(health_check, "time", SimpleNamespace(monotonic=lambda: now[0]))
    path = _uncached_page(settings, "/news/")
    assert client.get(path).status_code == 200  # answered at 1000
    now[0] += 10 * health_check.IDLE_CHECKED_SECONDS
    _request_starts()
    with django_assert_num_queries(0):
        assert client.get("/robots.txt").status_code == 200
    _request_starts()
    assert "Cluster news" in client.get(path).content.decode()
    assert health_checks == [1]


def test_a_link_used_by_other_queries_only_counts_as_idle_for_long(health_checks, in_use_a_moment_ago):
    # How long it has been idle is not known: Django's check runs first.
    connection.close()
    make_region()  # the ORM's own queries, on a new link
    _request_starts()
    _runaway_free.rows(after=0)
    assert health_checks == [1]


def test_a_new_link_counts_as_idle_for_long(health_checks, in_use_a_moment_ago):
    make_region()
    _runaway_free.rows(after=0)  # answered on the link then replaced
    connection.close()
    connection.ensure_connection()
    _request_starts()
    _runaway_free.rows(after=0)
    assert health_checks == [1]


@prepared
def _runaway_free(after: int):
    return Region.objects.filter(pk__gt=after).values_list("pk", flat=True)
