"""A database server that stops answering fails a connection attempt, or a statement, within
seconds instead of holding a worker (or the page cache's background thread) for TCP's minutes;
and in the web processes a statement that runs away is cancelled by PostgreSQL itself."""

import socket
import threading
import time

import psycopg2
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper

from baltmet import postgres_watch
from tests.settings_loader import load_settings
from tests.subprocess_env import run_python, env_on_the_test_database

POSTGRES_URL = "postgres://u:p@db.example:6543/cms"


def _options(monkeypatch, url=POSTGRES_URL, **env):
    return load_settings(monkeypatch, DJANGO_DEBUG="1", DATABASE_URL=url, **env).DATABASES["default"]["OPTIONS"]


def test_postgresql_connections_get_a_connect_timeout_keepalives_and_a_user_timeout(monkeypatch):
    assert _options(monkeypatch) == {
        "connect_timeout": 5,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "tcp_user_timeout": 15000,
    }


def test_the_connect_timeout_comes_from_the_environment(monkeypatch):
    assert _options(monkeypatch, DATABASE_CONNECT_TIMEOUT="12")["connect_timeout"] == 12


def test_a_negative_connect_timeout_is_refused_as_libpq_would_wait_for_ever(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_CONNECT_TIMEOUT=-5 must be a number of seconds"):
        _options(monkeypatch, DATABASE_CONNECT_TIMEOUT="-5")


def test_options_in_the_database_url_win_over_the_defaults(monkeypatch):
    options = _options(monkeypatch, url=POSTGRES_URL + "?connect_timeout=20&keepalives_idle=60&sslmode=require")
    assert (options["connect_timeout"], options["keepalives_idle"], options["sslmode"]) == (20, 60, "require")
    assert options["tcp_user_timeout"] == 15000


def test_no_statement_timeout_unless_one_is_set(monkeypatch):
    assert "options" not in _options(monkeypatch)
    assert "options" not in _options(monkeypatch, DATABASE_STATEMENT_TIMEOUT="0")


def test_the_statement_timeout_comes_from_the_environment(monkeypatch):
    assert _options(monkeypatch, DATABASE_STATEMENT_TIMEOUT="20000")["options"] == "-c statement_timeout=20000"


def test_a_negative_statement_timeout_is_refused(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_STATEMENT_TIMEOUT=-1 must be a number of milliseconds"):
        _options(monkeypatch, DATABASE_STATEMENT_TIMEOUT="-1")


def test_options_given_in_the_database_url_replace_the_statement_timeout(monkeypatch):
    options = _options(monkeypatch, url=POSTGRES_URL + "?options=-c%20search_path%3Dcms", DATABASE_STATEMENT_TIMEOUT="20000")
    assert options["options"] == "-c search_path=cms"


_SHOW_AND_SLEEP = """
from django.db import connection, OperationalError
with connection.cursor() as cursor:
    cursor.execute("SHOW statement_timeout")
    print(cursor.fetchone()[0])
    try:
        cursor.execute("SELECT pg_sleep(1.5)")
        print("slept")
    except OperationalError as error:
        print(type(error.__cause__).__name__)
"""


@pytest.mark.parametrize(
    ("entry", "env", "expected"),
    [
        # The web entry points: gunicorn's (make serve, bench/wrk.py), and an ASGI server's.
        ("import baltmet.wsgi", {}, ["20s", "slept"]),
        ("import baltmet.asgi", {}, ["20s", "slept"]),
        # Empty, as a number setting left blank in an env file: its default, not "no limit".
        ("import baltmet.wsgi", {"DATABASE_STATEMENT_TIMEOUT": " "}, ["20s", "slept"]),
        ("import baltmet.wsgi", {"DATABASE_STATEMENT_TIMEOUT": "300"}, ["300ms", "QueryCanceled"]),
        ("import baltmet.wsgi", {"DATABASE_STATEMENT_TIMEOUT": "0"}, ["0", "slept"]),
        # What manage.py commands load: no limit unless one is set.
        ("import django; django.setup()", {}, ["0", "slept"]),
        ("import django; django.setup()", {"DATABASE_STATEMENT_TIMEOUT": "300"}, ["300ms", "QueryCanceled"]),
    ],
)
def test_web_processes_cancel_a_statement_past_the_limit_and_commands_have_none_unless_set(db, entry, env, expected):
    result = run_python(f"{entry}\n{_SHOW_AND_SLEEP}", env_on_the_test_database(**env))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == expected


@pytest.mark.parametrize(
    ("entry", "env", "expected"),
    [
        ("import baltmet.wsgi", {}, "60"),
        # Under ASGI Django opens a connection per request whatever the setting, and a kept
        # one lingers until the garbage collector closes it: none kept, unless one is asked for.
        ("import baltmet.asgi", {}, "0"),
        ("import baltmet.asgi", {"DATABASE_CONN_MAX_AGE": " "}, "0"),  # blank: its default there
        ("import baltmet.asgi", {"DATABASE_CONN_MAX_AGE": "30"}, "30"),
    ],
)
def test_asgi_keeps_no_database_connection_between_requests_unless_asked(db, entry, env, expected):
    script = f"{entry}\nfrom django.conf import settings\nprint(settings.DATABASES['default']['CONN_MAX_AGE'])"
    result = run_python(script, env_on_the_test_database(**env))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [expected]


_CANCELLED_THEN_AGAIN = """
import os
import psycopg2
import baltmet.wsgi
from django.db import connection, transaction, OperationalError
from django.test import Client

client = Client(raise_request_exception=False)
print("before", client.get("/news/").status_code)
link = connection.connection
holder = psycopg2.connect(os.environ["DATABASE_URL"])
holder.cursor().execute("LOCK TABLE news_article IN ACCESS EXCLUSIVE MODE")
print("cancelled", client.get("/news/?page=1").status_code)
holder.rollback()
holder.close()
print("after", client.get("/news/?again=1").status_code, connection.connection is link)
try:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(1.5)")
except OperationalError as error:
    print("atomic", type(error.__cause__).__name__)
with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
    print("reused", cursor.fetchone()[0])
"""


def test_a_cancelled_statement_leaves_its_connection_and_prepared_statements_working(db):
    # Found sound by review r10b; kept so that it stays so. The news list's queries are
    # prepared on the connection: the one cancelled while the table is locked must not leave
    # the next request a statement PostgreSQL no longer knows.
    env = env_on_the_test_database(
        DATABASE_STATEMENT_TIMEOUT="500", DJANGO_ALLOWED_HOSTS="testserver", DJANGO_PAGE_CACHE_SECONDS="0"
    )
    result = run_python(_CANCELLED_THEN_AGAIN, env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == ["before 200", "cancelled 500", "after 200 True", "atomic QueryCanceled", "reused 1"], result.stderr[-3000:]


def test_sqlite_gets_none_of_them(monkeypatch):
    database = load_settings(monkeypatch, DJANGO_DEBUG="1").DATABASES["default"]
    assert not set(database.get("OPTIONS", {})) & {"connect_timeout", "keepalives_idle", "tcp_user_timeout"}


@pytest.fixture
def silent_server():
    """A port whose host completes TCP's handshake (the kernel's backlog) but never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


def test_connecting_to_a_server_that_never_answers_gives_up_within_the_connect_timeout(monkeypatch, silent_server):
    options = _options(monkeypatch, DATABASE_CONNECT_TIMEOUT="2")
    wrapper = DatabaseWrapper({**connection.settings_dict, "HOST": "127.0.0.1", "PORT": silent_server, "OPTIONS": options})
    outcome = {}

    def connect():
        started = time.monotonic()
        try:
            wrapper.connect()
        except Exception as error:  # noqa: BLE001 (reported below)
            outcome["error"] = error
        outcome["seconds"] = time.monotonic() - started

    attempt = threading.Thread(target=connect, daemon=True)
    attempt.start()
    # Without a connect timeout libpq waits until the server closes (the fixture, afterwards).
    attempt.join(15)
    assert not attempt.is_alive(), "still waiting for a server that never answers"
    assert isinstance(outcome["error"], psycopg2.OperationalError)
    assert "timeout expired" in str(outcome["error"])


def test_the_sites_connection_sends_keepalives_and_bounds_unacknowledged_data(db):
    connection.ensure_connection()
    sock = socket.socket(fileno=connection.connection.fileno())
    try:
        if sock.family == socket.AF_UNIX:
            pytest.skip("connected through a Unix socket, which has no TCP options")  # make test uses 127.0.0.1
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 5
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 15000
    finally:
        sock.detach()  # the connection's descriptor stays open


def test_the_version_watches_keep_their_tighter_timeouts(db):
    params = postgres_watch.connection_params()
    assert (params["connect_timeout"], params["keepalives_idle"], params["tcp_user_timeout"]) == (5, 5, 5000)
