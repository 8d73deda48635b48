"""With REDIS_URL, pages go by the content version in Redis, which every change made with it
moves. A change recorded in the database alone, by a process started without REDIS_URL (a cron
job, an operator's shell missing the variable), is found by the next page made, in any
process, or by a hit once a check of the database is due in its process (at most
PAGE_CACHE_DATABASE_CHECK_SECONDS after its last read): the version in Redis moves then, and
no page stored before is served again (baltmet.content_version.follow_the_database). These
commit (transactional_db)."""

import logging
import threading
import time

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from baltmet import content_version, database_check
from baltmet.models import ContentVersion
from baltmet.page_cache import HEADER
from tests.news_factories import make_article
from tests.redis_for_tests import emptied, use_redis_page_cache
from tests.subprocess_env import env_on_the_test_database, run_python

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_DB = 10
WARNING = "without the one in Redis: a change was recorded"


@pytest.fixture
def redis_page_cache(settings):
    cache = use_redis_page_cache(settings, REDIS_DB)
    yield cache
    emptied(cache)
    cache.close()


def _database_version():
    return ContentVersion.objects.get(pk=1).version


def _followed(cache):
    return cache.get_many([content_version.VERSION_KEY, content_version.DATABASE_VERSION_KEY])


def _served_twice(client, path):
    client.get(path)
    response = client.get(path)
    assert response[HEADER] == "hit", "stored"
    return response


def test_a_change_made_by_a_process_without_redis_shows_from_the_next_page_made(
    redis_page_cache, client, caplog, monkeypatch
):
    # Warned about however recent (see the next test).
    monkeypatch.setattr(content_version, "VERSION_WRITE_SECONDS", 0)
    article = make_article("Old title")
    other = make_article("Another article")
    _served_twice(client, article.get_absolute_url())

    # The project's own settings, without REDIS_URL: the change moves the database's version only.
    changed = run_python(
        "import django; django.setup()\n"
        "from news.models import Article\n"
        f"Article.objects.filter(pk={article.pk}).update(title='New title')\n",
        env_on_the_test_database(),
    )
    assert changed.returncode == 0, changed.stderr

    with caplog.at_level(logging.WARNING, logger="baltmet.content_version"):
        assert client.get(other.get_absolute_url())[HEADER] == "miss", "a page made"
    response = client.get(article.get_absolute_url())
    assert "New title" in response.content.decode(), f"{response[HEADER]}: a page from before the change"
    assert WARNING in caplog.text
    assert _followed(redis_page_cache)[content_version.DATABASE_VERSION_KEY] == _database_version()


def test_a_change_made_with_redis_names_the_database_version_it_follows(redis_page_cache, client, caplog):
    article = make_article("Saved with Redis")
    client.get(article.get_absolute_url())  # a page made: Redis follows the database from here on
    make_article("Saved with Redis too")
    followed = _followed(redis_page_cache)
    assert followed[content_version.DATABASE_VERSION_KEY] == _database_version()

    # Pages made after it find nothing to follow: the version moved once, for the change.
    with caplog.at_level(logging.WARNING, logger="baltmet.content_version"):
        _served_twice(client, article.get_absolute_url())
    assert _followed(redis_page_cache) == followed
    assert WARNING not in caplog.text


def test_a_redis_that_never_followed_the_database_starts_to_without_a_warning(redis_page_cache, client, caplog):
    article = make_article("Before Redis")
    redis_page_cache.delete(content_version.DATABASE_VERSION_KEY)  # a new Redis, or an older release's
    with caplog.at_level(logging.WARNING, logger="baltmet.content_version"):
        _served_twice(client, article.get_absolute_url())
    assert _followed(redis_page_cache)[content_version.DATABASE_VERSION_KEY] == _database_version()
    assert WARNING not in caplog.text


def _a_change_between_its_two_writes():
    """A change made with Redis, stopped between the database's write and Redis's: what
    writes Redis's (the version it names)."""
    version = content_version._write_new_database_version("default")

    def write_to_redis():
        content_version._written.version = version
        content_version._write_shared_version()

    return write_to_redis


def test_a_change_whose_write_to_redis_may_still_come_is_followed_without_a_warning(
    redis_page_cache, client, caplog, monkeypatch
):
    # A page made between a change's two writes finds the database ahead. It follows it all
    # the same, and names no culprit: the change's write to Redis then claims it.
    article = make_article("Old title")
    _served_twice(client, article.get_absolute_url())
    type(article).objects.filter(pk=article.pk).update(title="New title")  # both versions move
    write_to_redis = _a_change_between_its_two_writes()
    with caplog.at_level(logging.WARNING, logger="baltmet.content_version"):
        response = client.get(article.get_absolute_url())
        assert response[HEADER] == "miss" and "New title" in response.content.decode()
        assert _followed(redis_page_cache)[content_version.DATABASE_VERSION_KEY] == _database_version()
        write_to_redis()
        monkeypatch.setattr(content_version, "VERSION_WRITE_SECONDS", 0)  # long after
        assert client.get("/news/")[HEADER] == "miss", "a page made"
    assert WARNING not in caplog.text


def test_a_recent_change_whose_write_to_redis_never_comes_is_warned_of_by_a_later_page(
    redis_page_cache, client, caplog, monkeypatch
):
    article = make_article("Old title")
    _served_twice(client, article.get_absolute_url())
    _a_change_between_its_two_writes()  # and Redis's never comes
    with caplog.at_level(logging.WARNING, logger="baltmet.content_version"):
        assert client.get("/regions/")[HEADER] == "miss", "a page made"
        assert client.get(article.get_absolute_url())[HEADER] == "miss", "followed at once"
        assert WARNING not in caplog.text, "too early to tell"
        monkeypatch.setattr(content_version, "VERSION_WRITE_SECONDS", 0)  # long after
        assert client.get("/news/")[HEADER] == "miss", "a page made"
        assert client.get("/events/")[HEADER] == "miss", "another"
    assert caplog.text.count(WARNING) == 1, caplog.text


def test_changes_reaching_redis_in_another_order_than_made_move_its_version_once_each(redis_page_cache, client):
    article = make_article("Changed twice")
    client.get(article.get_absolute_url())
    first, second = _a_change_between_its_two_writes(), _a_change_between_its_two_writes()
    second()
    first()  # late (a retry, a paused worker): names an older version
    moved = _followed(redis_page_cache)
    assert moved[content_version.DATABASE_VERSION_KEY] == _database_version()
    assert client.get(article.get_absolute_url())[HEADER] == "miss"
    assert _followed(redis_page_cache) == moved, "the page made moved Redis's version again"


def test_where_the_database_cannot_return_what_it_updated_the_version_is_read_after(redis_page_cache, monkeypatch):
    # SQLite before 3.35 has no RETURNING: the version is read after the update.
    monkeypatch.setattr(connection.features, "can_return_columns_from_insert", False)
    with CaptureQueriesContext(connection) as queries:
        make_article("Saved without RETURNING")
    table = ContentVersion._meta.db_table
    writes = [query["sql"] for query in queries.captured_queries if query["sql"].startswith(f'UPDATE "{table}"')]
    assert writes and not any("RETURNING" in sql for sql in writes)
    assert _followed(redis_page_cache)[content_version.DATABASE_VERSION_KEY] == _database_version()


def test_a_write_to_redis_owed_alone_names_the_version_of_the_change_that_owes_it(redis_page_cache, monkeypatch):
    # Redis was unreachable for a change (its write owed, the database's made). The thread
    # paying it names that change's version: unnamed, a page made would move Redis's version
    # again, and warn; naming the database's version by then would claim a change made
    # meanwhile by a process without Redis, which would never be warned of.
    make_article("Saved before")
    monkeypatch.setattr(content_version, "_writes_given_up", set())
    monkeypatch.setattr(content_version, "_give_ups", {})
    monkeypatch.setattr(content_version, "_owed_shared_names", None)
    owed = content_version._write_new_database_version("default")
    monkeypatch.setattr(content_version._written, "version", owed)
    content_version._give_up("the shared cache")
    content_version._write_new_database_version("default")  # a change made without Redis, meanwhile
    content_version._pay_owed_versions("default", content_version._version_writes("default"))
    assert content_version._writes_given_up == set(), "paid"
    assert _followed(redis_page_cache)[content_version.DATABASE_VERSION_KEY] == owed


def _a_page_made_reads(cache):
    """What a page made reads before its view runs: the shared cache's keys, then the state."""
    return cache.get_many(list(content_version.SHARED_KEYS)), content_version.content_state()


def _follow(cache, read, now=None):
    shared, state = read
    return content_version.follow_the_database(cache, shared[content_version.VERSION_KEY], state, now or timezone.now(), shared)


def test_a_page_made_during_a_burst_of_changes_never_lowers_what_redis_follows(redis_page_cache, client, caplog, monkeypatch):
    # Review r32: a page read the database's version of a change between its two writes;
    # that change and a later one then reached Redis. The page must not take Redis back to
    # the version it read (another move of every page, and a mark no change would claim).
    make_article("Before the burst")
    client.get("/news/")
    first = _a_change_between_its_two_writes()
    read = _a_page_made_reads(redis_page_cache)
    first()
    _a_change_between_its_two_writes()()
    after_the_burst = _followed(redis_page_cache)
    _follow(redis_page_cache, read)
    assert _followed(redis_page_cache) == after_the_burst
    assert redis_page_cache.get(content_version.UNCLAIMED_VERSION_KEY) is None
    monkeypatch.setattr(content_version, "VERSION_WRITE_SECONDS", 0)  # long after
    with caplog.at_level(logging.WARNING, logger="baltmet.content_version"):
        assert client.get("/events/")[HEADER] == "miss", "a page made"
    assert _followed(redis_page_cache) == after_the_burst
    assert WARNING not in caplog.text


def test_a_database_restored_from_an_older_dump_is_followed_down(redis_page_cache, client):
    article = make_article("Before the restore")
    client.get("/news/")
    restored = _database_version() - 1000
    ContentVersion.objects.filter(pk=1).update(version=restored)  # as a restore leaves it
    before = _followed(redis_page_cache)
    assert client.get(article.get_absolute_url())[HEADER] == "miss"
    followed = _followed(redis_page_cache)
    assert followed[content_version.DATABASE_VERSION_KEY] == restored
    assert followed[content_version.VERSION_KEY] != before[content_version.VERSION_KEY]


def test_a_database_that_fails_as_a_restore_is_followed_down_is_not_taken_for_redis_failing(
    redis_page_cache, client, monkeypatch, caplog
):
    # Review r34: the error was logged as "page cache unavailable", as if Redis had failed
    # (only the log: cache_failures rests Redis for its own connection errors alone).
    article = make_article("Before the restore")
    client.get("/news/")
    ContentVersion.objects.filter(pk=1).update(version=_database_version() - 1000)  # as a restore leaves it

    def database_gone():
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(content_version, "database_version", database_gone)
    with caplog.at_level(logging.WARNING, logger="baltmet.page_cache"):
        response = client.get(article.get_absolute_url())
    assert response.status_code == 200 and "Before the restore" in response.content.decode()
    said = [record.getMessage() for record in caplog.records if record.name == "baltmet.page_cache"]
    assert said == ["page cache: could not read the database's content version, page not stored"]
    monkeypatch.undo()
    assert client.get(article.get_absolute_url())[HEADER] == "miss", "not stored"


def test_a_mark_of_a_change_without_redis_is_kept_while_another_change_is_followed(redis_page_cache, client, caplog, monkeypatch):
    # Review r32: a change made without Redis is marked; a change made with Redis follows
    # within the 3 s, and a page made between its two writes must not replace that mark.
    make_article("Before")
    client.get("/news/")
    _a_change_between_its_two_writes()  # without Redis: its write never comes
    assert client.get("/events/")[HEADER] == "miss", "a page made"
    with_redis = _a_change_between_its_two_writes()
    assert client.get("/regions/")[HEADER] == "miss", "a page made"
    with_redis()
    monkeypatch.setattr(content_version, "VERSION_WRITE_SECONDS", 0)  # long after
    with caplog.at_level(logging.WARNING, logger="baltmet.content_version"):
        assert client.get("/news/?page=1")[HEADER] == "miss", "a page made"
    assert caplog.text.count(WARNING) == 1, caplog.text


def test_of_processes_finding_the_same_unclaimed_change_only_one_warns(redis_page_cache, client, caplog, monkeypatch):
    make_article("Before")
    client.get("/news/")
    _a_change_between_its_two_writes()  # without Redis
    assert client.get("/events/")[HEADER] == "miss", "followed, and marked"
    monkeypatch.setattr(content_version, "VERSION_WRITE_SECONDS", 0)  # long after
    read = _a_page_made_reads(redis_page_cache)  # two processes read the mark at once
    assert read[0][content_version.UNCLAIMED_VERSION_KEY] is not None
    with caplog.at_level(logging.WARNING, logger="baltmet.content_version"):
        _follow(redis_page_cache, read)
        _follow(redis_page_cache, read)
    assert caplog.text.count(WARNING) == 1, caplog.text


def test_a_redis_come_back_with_older_data_is_followed_anew_without_a_warning(redis_page_cache, client, caplog, monkeypatch):
    make_article("Before the snapshot")
    client.get("/news/")
    snapshot = _followed(redis_page_cache)
    make_article("After the snapshot")
    redis_page_cache.set_many(snapshot, timeout=None)  # the snapshot's values come back
    redis_page_cache.set(content_version._RUN_ID_KEY, "the server before", timeout=None)
    content_version._restart_shared_version_after_a_new_redis(redis_page_cache)
    monkeypatch.setattr(content_version, "VERSION_WRITE_SECONDS", 0)  # long after
    with caplog.at_level(logging.WARNING, logger="baltmet.content_version"):
        assert client.get("/events/")[HEADER] == "miss", "a page made"
    assert _followed(redis_page_cache)[content_version.DATABASE_VERSION_KEY] == _database_version()
    assert WARNING not in caplog.text


def _changed_without_redis(article, title):
    """What a process without REDIS_URL does: the content and the database's version change,
    Redis's does not."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE news_article SET title = %s WHERE id = %s", [title, article.pk])
    content_version._write_new_database_version("default")


@pytest.fixture
def checks(settings):
    """Checks of the database's version at every request (0 s), each awaited with `.wait()`:
    the request that wakes the checker does not wait for it. The checker is stopped after the
    test, and its connection closed with it."""
    settings.PAGE_CACHE_DATABASE_CHECK_SECONDS = 0
    checker = database_check.checker

    class Checks:
        @staticmethod
        def wait():
            assert checker.wait_idle(10), "a check did not end"

        @staticmethod
        def made():
            return checker.made

    yield Checks
    checker.stop()


def _backends():
    """The sessions on the test database (this one's included)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def _backends_within(seconds, expected):
    """_backends(), read again until it is `expected` or `seconds` have passed: a session's server
    process leaves pg_stat_activity a moment after its client closed the connection."""
    deadline = time.monotonic() + seconds
    while (count := _backends()) != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return count


def test_a_change_made_without_redis_shows_once_a_check_of_the_database_is_due(
    redis_page_cache, client, settings, monkeypatch, checks
):
    # Review r30b: a hit asked neither Redis nor the database, and served the page from
    # before the change until some page was made.
    settings.PAGE_CACHE_DATABASE_CHECK_SECONDS = 60
    article = make_article("Old title")
    other = make_article("Another article")
    _served_twice(client, other.get_absolute_url())
    _served_twice(client, article.get_absolute_url())
    checks.wait()
    _changed_without_redis(article, "New title")
    response = client.get(article.get_absolute_url())
    assert (response[HEADER], "Old title" in response.content.decode()) == ("hit", True), "within the bound"
    monkeypatch.setattr(database_check.checker, "_read_at", time.monotonic() - 60)
    client.get(article.get_absolute_url())  # wakes the checker, and does not wait for it
    checks.wait()
    response = client.get(article.get_absolute_url())
    assert response[HEADER] == "miss" and "New title" in response.content.decode()
    assert _followed(redis_page_cache)[content_version.DATABASE_VERSION_KEY] == _database_version()
    assert client.get(other.get_absolute_url())[HEADER] == "miss", "no page stored before is served"


def test_a_hit_that_starts_a_check_runs_no_query_itself(redis_page_cache, client, checks):
    article = make_article("Cluster news")
    _served_twice(client, article.get_absolute_url())
    checks.wait()
    before = _followed(redis_page_cache)
    made = checks.made()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(article.get_absolute_url())
    checks.wait()
    assert response[HEADER] == "hit" and queries.captured_queries == []
    assert checks.made() == made + 1
    assert _followed(redis_page_cache) == before, "a check that finds nothing moves nothing"
    assert client.get(article.get_absolute_url())[HEADER] == "hit"


def test_between_checks_none_is_made(redis_page_cache, client, settings, checks):
    article = make_article("Cluster news")
    _served_twice(client, article.get_absolute_url())
    checks.wait()
    settings.PAGE_CACHE_DATABASE_CHECK_SECONDS = 60
    made = checks.made()
    for _ in range(3):
        client.get(article.get_absolute_url())
    checks.wait()
    assert checks.made() == made


def test_checks_keep_one_database_session_and_one_redis_connection(redis_page_cache, client, checks):
    # Review r35: a thread for each check opened a new database session and a new Redis
    # connection every time, the latter left open until the cyclic garbage collector came by.
    article = make_article("Cluster news")
    _served_twice(client, article.get_absolute_url())
    checks.wait()
    sessions = _backends()
    redis_clients = len(redis_page_cache._cache.get_client().client_list())
    for _ in range(10):
        client.get(article.get_absolute_url())
        checks.wait()
    assert checks.made() >= 10
    assert _backends() == sessions
    assert len(redis_page_cache._cache.get_client().client_list()) <= redis_clients + 1
    database_check.checker.stop()
    assert _backends_within(5, sessions - 1) == sessions - 1, "the checker's session ends with it"


def test_a_database_that_does_not_answer_holds_up_no_stored_page(redis_page_cache, client, monkeypatch, checks):
    # Review r34: the check on the request's own path made every hit wait for a database that
    # hung (a connection, a query), up to gunicorn's timeout.
    article = make_article("Cluster news")
    _served_twice(client, article.get_absolute_url())
    checks.wait()
    answer, asked = threading.Event(), []

    def database_hanging(now=None):
        asked.append(now)
        answer.wait(10)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(content_version, "content_state", database_hanging)
    try:
        client.get(article.get_absolute_url())
        deadline = time.monotonic() + 10
        while not asked and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(asked) == 1, "the check is waiting for the database"
        for _ in range(3):
            response = client.get(article.get_absolute_url())
            assert response[HEADER] == "hit" and "Cluster news" in response.content.decode()
        time.sleep(0.2)
        assert len(asked) == 1, "one check at a time"
    finally:
        answer.set()
    checks.wait()


def test_with_redis_full_a_check_that_finds_the_database_ahead_stops_every_processs_copies(
    redis_page_cache, client, monkeypatch, checks
):
    # Review r34: Redis deleted its version rather than count it up, and announced nothing, so
    # this process went on serving its own copy of the page from before the change.
    article = make_article("Old title")
    _served_twice(client, article.get_absolute_url())
    checks.wait()
    _changed_without_redis(article, "New title")

    def full(*args, **kwargs):
        redis_page_cache.delete(content_version.VERSION_KEY)
        return None, False, None

    monkeypatch.setattr(type(redis_page_cache), "count_up_unless", lambda self, *a, **k: full())
    client.get(article.get_absolute_url())  # wakes the checker
    checks.wait()
    response = client.get(article.get_absolute_url())
    assert "New title" in response.content.decode(), f"{response[HEADER]}: the page from before the change"


def test_a_check_after_redis_came_back_with_older_data_warns_of_nothing(
    redis_page_cache, client, caplog, monkeypatch, checks
):
    # Review r35: a check woken before the request's watch found the new Redis followed its
    # snapshot's version and warned of a change without Redis.
    make_article("Before the snapshot")
    client.get("/news/")
    checks.wait()
    snapshot = _followed(redis_page_cache)
    make_article("After the snapshot")
    redis_page_cache.set_many(snapshot, timeout=None)  # the snapshot's values come back
    redis_page_cache.set(content_version._RUN_ID_KEY, "the server before", timeout=None)
    monkeypatch.setattr(content_version, "VERSION_WRITE_SECONDS", 0)  # long after
    original = content_version.watched_version

    def as_after_a_new_subscription(cache, watch):
        checks.wait()  # a check woken before the watch would be done by now
        # What the watch does on the first request after Redis came back: a new run_id.
        content_version._restart_shared_version_after_a_new_redis(cache)
        return original(cache, watch)

    monkeypatch.setattr(content_version, "watched_version", as_after_a_new_subscription)
    with caplog.at_level(logging.WARNING, logger="baltmet.content_version"):
        client.get("/events/")
        checks.wait()
    assert WARNING not in caplog.text
