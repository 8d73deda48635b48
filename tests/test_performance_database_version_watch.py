"""Without Redis, each process trusts the content version it read from PostgreSQL until a change
is announced (baltmet.postgres_watch): a cached page is then served without any query, and a
change made anywhere (another process, another machine) still shows on the very next request,
because the writer waits until every watch has stopped trusting the old version.
"""

import logging
import threading
import time
from contextlib import contextmanager

import psycopg2
import pytest
from django.db import OperationalError, connection, connections
from django.test.utils import CaptureQueriesContext

from baltmet import content_version, postgres_watch
from baltmet.page_cache import HEADER
from news.models import Article
from tests.news_factories import make_article
from tests.page_cache_settings import use_local_memory_page_cache
from tests.subprocess_env import env_on_the_test_database, free_port, run_django_json
from tests.tcp_proxy import Proxy

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def local_memory_page_cache(settings):
    use_local_memory_page_cache(settings)


@pytest.fixture
def listening_watch():
    # The version's row, made here where there is none yet; starting one counts as a change.
    content_version.database_version()
    watch = postgres_watch.watch()
    assert watch.wait_until_listening(10), "the watch did not start listening"
    return watch


def _trusted_hit(client, url):
    """Requests `url` until a hit runs no query: this process trusts the version it read.
    Returns that page. (The watch lets go of its lock now and then, and a version read just
    before that is not trusted: tried a few times.)"""
    watch = postgres_watch.watch()
    for _ in range(10):
        assert watch.wait_until_listening(10), "the watch did not start listening"
        client.get(url)  # made (or served, reading the version)
        client.get(url)  # served, the version read and trusted
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response[HEADER] == "hit"
        if not queries.captured_queries:
            return response.content.decode()
    pytest.fail(f"every hit of {url} read the version: {queries.captured_queries}")


def test_a_hit_runs_no_query_once_the_watch_listens(client, listening_watch, django_assert_num_queries):
    make_article("Harbour news")
    assert "Harbour news" in _trusted_hit(client, "/news/")


def test_without_listening_every_hit_reads_the_version(client, settings, django_assert_num_queries):
    settings.PAGE_CACHE_LISTEN = False
    make_article("Harbour news")
    client.get("/news/")
    for _ in range(3):
        with django_assert_num_queries(1):
            assert client.get("/news/")[HEADER] == "hit"


_EDIT_IN_CHILD = """
from news.models import Article
article = Article.objects.get(pk=PK)
article.title = TITLE
article.save()
print(json.dumps(article.title))
"""


def test_an_edit_in_another_process_shows_on_the_very_next_request(client, listening_watch, django_assert_num_queries):
    article = make_article("Harbour news")
    env = env_on_the_test_database()
    for round_ in range(3):
        _trusted_hit(client, "/news/")
        title = f"Edited elsewhere, round {round_}"
        assert run_django_json(f"PK = {article.pk}\nTITLE = {title!r}\n{_EDIT_IN_CHILD}", env) == title
        response = client.get("/news/")
        assert title in response.content.decode()
        assert response[HEADER] == "miss"


def _write_from_another_session():
    """A change committed on a connection of its own, as another process would, and announced."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("UPDATE baltmet_contentversion SET version = version + 1 WHERE id = 1")
    finally:
        other.close()
    postgres_watch.announce_and_wait("default")


def test_a_writer_returns_only_once_the_watch_no_longer_trusts_the_old_version(listening_watch, monkeypatch):
    # The watch's thread is slow to act on what it heard (a busy process): the writer waits.
    let_go = listening_watch._let_go

    def slowly():
        time.sleep(0.05)
        let_go()

    monkeypatch.setattr(listening_watch, "_let_go", slowly)
    for _ in range(10):
        assert listening_watch.wait_until_listening(5)
        _, token = listening_watch.get()
        listening_watch.remember(content_version.database_version(), token)
        assert listening_watch.get()[0] is not None
        _write_from_another_session()
        assert listening_watch.get()[0] is None


def test_a_watch_never_keeps_a_writer_waiting_once_it_has_heard(listening_watch, caplog, monkeypatch):
    """A watch takes its lock again right after it let go; were it let through before the
    writer waits for the lock, the writer would wait for a watch that has already heard. And
    it ends its lease itself: a writer waits out only the leases of watches that could not."""
    lease_waits = []
    lease_left = postgres_watch._lease_left
    monkeypatch.setattr(postgres_watch, "_lease_left", lambda cursor: lease_waits.append(lease_left(cursor)) or 0)
    # A writer slow between its announcement and its wait: the watch has heard by then.
    lock_waiting_at_most = postgres_watch._lock_waiting_at_most

    def slowly(cursor, function, key):
        if key == postgres_watch.LOCK_KEY:
            time.sleep(0.1)
        return lock_waiting_at_most(cursor, function, key)

    monkeypatch.setattr(postgres_watch, "_lock_waiting_at_most", slowly)
    with caplog.at_level(logging.WARNING, logger="baltmet.postgres_watch"):
        for _ in range(10):
            _write_from_another_session()
            assert listening_watch.wait_until_listening(5)
    assert "waited" not in caplog.text
    assert lease_waits == [0] * 10


def test_a_version_read_before_a_change_is_not_trusted_after_it(listening_watch):
    _, token = listening_watch.get()
    old = content_version.database_version()
    _write_from_another_session()
    # The watch holds its lock again (as when the read came before it let go), but the token
    # tells a read from before.
    assert listening_watch.wait_until_listening(5)
    listening_watch.remember(old, token)
    assert listening_watch.get()[0] is None


def test_a_version_is_trusted_for_trust_seconds_at_most(listening_watch):
    """Counted from when `get` was called, before the version was read."""
    _, (token, asked_at) = listening_watch.get()
    listening_watch.remember(content_version.database_version(), (token, asked_at))
    assert listening_watch.get()[0] is not None
    listening_watch.remember(content_version.database_version(), (token, asked_at - postgres_watch.TRUST_SECONDS))
    assert listening_watch.get()[0] is None


def test_the_watch_renews_its_lease_so_hits_stay_free_of_queries(client, listening_watch):
    make_article("Harbour news")
    time.sleep(postgres_watch.TRUST_SECONDS * 1.5)  # longer than a lease not renewed
    assert "Harbour news" in _trusted_hit(client, "/news/")


def test_a_watch_that_does_not_answer_holds_a_writer_up_only_until_its_trust_ran_out(listening_watch, monkeypatch, caplog):
    monkeypatch.setattr(postgres_watch, "TRUST_SECONDS", 0.3)
    monkeypatch.setattr(postgres_watch, "WRITER_WAIT_SECONDS", 0.6)
    _, token = listening_watch.get()
    listening_watch.remember(content_version.database_version(), token)
    assert listening_watch.get()[0] is not None
    backend = listening_watch._connection.get_backend_pid()
    # The watch's thread cannot stop trusting (as in a paused process): it waits for this lock.
    with listening_watch._lock:
        with caplog.at_level(logging.WARNING, logger="baltmet.postgres_watch"):
            _write_from_another_session()
    assert f"waited 0.6 s for the watches of the content version (advisory lock {postgres_watch.LOCK_KEY} held by sessions [{backend}])" in caplog.text
    # What it trusted from before the change, it no longer does.
    assert listening_watch.get()[0] is None


def test_a_watch_whose_session_ends_stops_trusting_and_listens_again(
    client, listening_watch, monkeypatch, django_assert_num_queries, caplog
):
    monkeypatch.setattr(postgres_watch, "RETRY_SECONDS", 0.1)
    make_article("Harbour news")
    _trusted_hit(client, "/news/")
    backend = listening_watch._connection.get_backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [backend])
    assert listening_watch.get()[0] is None
    # A change now waits for no lost watch (the writer logs a wait for one).
    with caplog.at_level(logging.WARNING, logger="baltmet.postgres_watch"):
        Article.objects.filter(title="Harbour news").update(title="Changed meanwhile")
    assert "waited" not in caplog.text
    assert "Changed meanwhile" in client.get("/news/").content.decode()
    # And the watch is back.
    deadline = time.monotonic() + 10
    while listening_watch._connection is None or listening_watch._connection.get_backend_pid() == backend:
        assert time.monotonic() < deadline, "the watch did not connect again"
        time.sleep(0.05)
    assert "Changed meanwhile" in _trusted_hit(client, "/news/")


def test_requests_in_many_threads_never_see_a_change_late(listening_watch):
    """Threads keep reading while changes are committed from another session: a thread that
    starts a read after a change was reported saved always gets the new version."""
    errors = []
    saved = {"version": content_version.database_version()}
    stop = threading.Event()

    def reader():
        try:
            while not stop.is_set():
                expected = saved["version"]
                version, token = listening_watch.get()
                if version is None:
                    version = content_version.database_version()
                    listening_watch.remember(version, token)
                if version < expected:
                    errors.append((version, expected))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(30):
            _write_from_another_session()
            saved["version"] = content_version.database_version()
            time.sleep(0.01)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []


# --- What a network can do to the watch's connection --------------------------------------


@contextmanager
def _watch_through(proxy):
    """A watch connecting through `proxy`, listening; stopped afterwards, with the proxy."""
    params = postgres_watch.connection_params()
    params.update(host="127.0.0.1", port=proxy.port)
    watch = postgres_watch.Watch(params)
    try:
        assert watch.wait_until_listening(10), "the watch did not start listening"
        yield watch
    finally:
        watch.close()
        proxy.close()


@pytest.fixture
def database_address():
    content_version.database_version()
    settings_dict = connection.settings_dict
    return settings_dict["HOST"] or "127.0.0.1", int(settings_dict["PORT"] or 5432)


def _request(watch):
    """What the page cache does for a page it has: trust the version, or read and remember it."""
    version, token = watch.get()
    if version is None:
        version = content_version.database_version()
        watch.remember(version, token)
    return version


def _end_session(pid):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
        assert cursor.fetchone()[0], f"session {pid} did not end"


def test_a_watch_cut_off_without_noticing_is_waited_out_by_writers(database_address, monkeypatch):
    """The network drops the watch's connection silently, and PostgreSQL ends its session (its
    keepalives gave up): the lock is gone, but the process may not know for a while. Its lease
    is what writers wait out."""
    monkeypatch.setattr(postgres_watch, "STATEMENT_SECONDS", 1.0)  # its renewal then gives up sooner
    proxy = Proxy(database_address)
    with _watch_through(proxy) as watch:
        first = _request(watch)
        assert watch.get()[0] == first
        session = watch._connection.get_backend_pid()
        proxy.cut()
        _end_session(session)
        for _ in range(4):
            _write_from_another_session()
            trusted = watch.get()[0]
            assert trusted is None or trusted == content_version.database_version()
            _request(watch)  # a request reads the version on its own connection, and may trust it


def test_a_session_ended_by_the_server_is_noticed_though_the_close_comes_late(database_address):
    """PostgreSQL's last message arrives at once, the closed connection three seconds later: the
    watch's thread takes that message (psycopg2 makes it a notice) as the end, and lets go
    long before the close, or its lease, would have told it."""
    with _watch_through(Proxy(database_address, eof_delay=3.0)) as watch:
        _request(watch)
        _end_session(watch._connection.get_backend_pid())
        deadline = time.monotonic() + 1.5
        while watch._holding.is_set():
            assert time.monotonic() < deadline, "the watch did not notice its session ended"
            time.sleep(0.01)
        _write_from_another_session()
        trusted = watch.get()[0]
        assert trusted is None or trusted == content_version.database_version()


def test_a_writer_that_cannot_tell_the_watches_waits_until_none_trusts_an_old_version(monkeypatch, caplog):
    def fails(using):
        raise OperationalError("the database went away")

    slept = []
    monkeypatch.setattr(postgres_watch, "announce_and_wait", fails)
    monkeypatch.setattr(content_version, "_sleep", slept.append)
    content_version.content_changed()
    assert "could not tell other processes of a content change" in caplog.text
    assert slept == [postgres_watch.TRUST_SECONDS]


def test_the_watches_connections_take_the_role_the_site_assumes(monkeypatch):
    # DATABASE_URL=...?assume_role=owner: Django runs SET ROLE on its own connections; the
    # watches' and writers' open their own, and as the login role could not use the watches'
    # table where it does not inherit the owner's rights (review r25h).
    role = connection.settings_dict["USER"]  # a role the tests' login may take: itself
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "assume_role", role)
    params = postgres_watch.connection_params()
    assert "assume_role" not in params
    link = psycopg2.connect(**params)
    try:
        with link.cursor() as cursor:
            cursor.execute("SHOW role")  # 'none' unless a role was set
            assert cursor.fetchone()[0] == role
    finally:
        link.close()
    # The server splits the options at any white space; backslashes escape.
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "assume_role", "site owner\\x\ty")
    assert postgres_watch.connection_params()["options"].endswith("-c role=site\\ owner\\\\x\\\ty")


def test_a_server_that_connects_but_refuses_the_watch_is_logged_once(caplog, monkeypatch):
    # A read-only server (a standby), a table without rights: the connection opens, what follows
    # fails. One warning for the outage, not one a second with its traceback (review r25h).
    monkeypatch.setattr(postgres_watch, "RETRY_SECONDS", 0.2)
    params = postgres_watch.connection_params()
    params["options"] = " ".join(filter(None, [params.get("options"), "-c default_transaction_read_only=on"]))
    with caplog.at_level(logging.WARNING, logger="baltmet.postgres_watch"):
        watch = postgres_watch.Watch(params)
        try:
            assert not watch.wait_until_listening(1.5)
        finally:
            watch.close()
    assert caplog.text.count("the watch of the content version lost its connection") == 1


def test_a_writer_paused_inside_its_transaction_does_not_keep_the_gate_closed():
    # idle_session_timeout does not count time inside a transaction: a writer stopped between
    # taking its transaction's lock and its COMMIT held the gate until its process died.
    content_version.database_version()
    writer = psycopg2.connect(**postgres_watch.connection_params())
    other = psycopg2.connect(**postgres_watch.connection_params())
    try:
        writer.autocommit = other.autocommit = True
        cursor = writer.cursor()
        cursor.execute(postgres_watch._SESSION_SETTINGS)
        cursor.execute("SELECT pg_advisory_lock(%s)", [postgres_watch.GATE_KEY])
        cursor.execute("BEGIN")
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [postgres_watch.LOCK_KEY])
        # ...and the writer's process stops here.
        with other.cursor() as asking:
            deadline = time.monotonic() + 6
            while True:
                asking.execute("SELECT pg_try_advisory_lock_shared(%s)", [postgres_watch.GATE_KEY])
                if asking.fetchone()[0]:
                    break
                assert time.monotonic() < deadline, "the gate stayed closed"
                time.sleep(0.2)
    finally:
        writer.close()
        other.close()


def test_a_new_cause_within_an_outage_is_logged(caplog, monkeypatch):
    # Unreachable first (logged), then reachable but refusing the watch (a read-only server
    # after a failover): the watch never held its lock between them (review r25j).
    monkeypatch.setattr(postgres_watch, "RETRY_SECONDS", 0.2)
    params = postgres_watch.connection_params()
    real_port = params["port"]
    params["port"] = free_port()  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="baltmet.postgres_watch"):
        watch = postgres_watch.Watch(params)  # keeps this very dict
        try:
            # Once the first cause is logged (a sleep was not always long enough, review r29c).
            deadline = time.monotonic() + 30
            while not [record for record in caplog.records if "lost its connection" in record.getMessage()]:
                assert time.monotonic() < deadline, "the watch logged no failure to connect"
                time.sleep(0.02)
            # Read-only first: between the two, the watch would find the server as it is.
            params["options"] = " ".join(filter(None, [params.get("options"), "-c default_transaction_read_only=on"]))
            params["port"] = real_port
            assert not watch.wait_until_listening(1.5)
        finally:
            watch.close()
    causes = [str(record.exc_info[1]) for record in caplog.records if "lost its connection" in record.getMessage()]
    assert len(causes) == 2 and "read-only" in causes[1], causes
