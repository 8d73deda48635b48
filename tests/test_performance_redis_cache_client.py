"""baltmet.cache.RedisCache: Django's RedisCache, but one redis.Redis client per connection
pool instead of a new one for every cache operation. Needs the tests' Redis."""

import urllib.parse
import uuid

import pytest
import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.exceptions import ImproperlyConfigured

from baltmet import content_version
from baltmet.cache import RedisCache
from baltmet.page_cache import HEADER
from tests.news_factories import make_article
from tests.redis_for_tests import redis_server_of_its_own, redis_url, unique_key_prefix, use_redis_page_cache
from tests.settings_loader import load_settings

REDIS_DB = 9


@pytest.fixture
def redis_cache():
    return RedisCache(redis_url(REDIS_DB), {"KEY_PREFIX": unique_key_prefix()})


def test_every_operation_reuses_one_client(redis_cache):
    client = redis_cache._cache.get_client()
    assert redis_cache._cache.get_client(write=True) is client
    assert redis_cache._cache.get_client("some-key") is client
    # Django's own makes a new one each time: the reason for this class.
    django_cache = DjangoRedisCache(redis_url(REDIS_DB), {})
    assert django_cache._cache.get_client() is not django_cache._cache.get_client()


def test_it_behaves_as_djangos_redis_cache(redis_cache):
    redis_cache.set("page", {"content": b"<p>Hello</p>"}, 60)
    assert redis_cache.get("page") == {"content": b"<p>Hello</p>"}
    assert redis_cache.add("counter", 10, timeout=None)
    assert not redis_cache.add("counter", 99)
    assert redis_cache.incr("counter") == 11
    assert redis_cache.get_many(["page", "counter", "missing"]) == {"page": {"content": b"<p>Hello</p>"}, "counter": 11}
    with pytest.raises(ValueError):
        redis_cache.incr("missing")
    redis_cache.delete_many(["page", "counter"])
    assert redis_cache.get("page") is None


def test_raise_counter_gives_the_greater_of_the_next_value_and_the_floor(redis_cache):
    assert redis_cache.raise_counter("version", 1000) == 1000
    assert redis_cache.raise_counter("version", 10) == 1001
    assert redis_cache.raise_counter("version", 5000) == 5000
    # Stored as Django stores an int: incr() and get() read it as one.
    assert redis_cache.incr("version") == 5001 and redis_cache.get("version") == 5001


def test_count_up_adds_one_or_starts_at_the_given_value(redis_cache):
    assert redis_cache.count_up("version", 5000)
    assert redis_cache.get("version") == 5000
    assert redis_cache.count_up("version", 10)
    assert redis_cache.get("version") == 5001 and redis_cache.incr("version") == 5002
    assert redis_cache.start_counter("version", 7) == 5002
    assert redis_cache.start_counter("other", 7) == 7


def test_count_up_is_one_step_a_key_deleted_meanwhile_never_comes_back_as_1(redis_cache, monkeypatch):
    # Checking that the key exists, then adding one (Django's incr()), a key another process
    # deleted in between (count_up() in a full Redis) came back as 1, and again as 1 later.
    # So would setting it where missing, then adding one, as two commands (review r29c).
    redis_cache.set("version", 1_000_000, timeout=None)
    client = redis_cache._cache.get_client(write=True)
    real_exists, real_set = client.exists, client.set

    def exists_then_deleted_by_another_process(*names):
        found = real_exists(*names)
        client.delete(*names)
        return found

    def set_then_deleted_by_another_process(name, *args, **kwargs):
        done = real_set(name, *args, **kwargs)
        client.delete(name)
        return done

    monkeypatch.setattr(client, "exists", exists_then_deleted_by_another_process)
    monkeypatch.setattr(client, "set", set_then_deleted_by_another_process)
    assert redis_cache.count_up("version", 2_000_000)
    assert redis_cache.get("version") in (1_000_001, 2_000_000)


def test_count_up_naming_raises_what_it_names_and_never_lowers_it(redis_cache):
    assert redis_cache.count_up_naming("version", 5000, "followed", 42, "unclaimed")
    assert redis_cache.get_many(["version", "followed"]) == {"version": 5000, "followed": 42}
    # A change that reaches Redis after a later one: counted up, what it names left higher.
    assert redis_cache.count_up_naming("version", 5000, "followed", 41, "unclaimed")
    assert redis_cache.get_many(["version", "followed"]) == {"version": 5001, "followed": 42}


def test_count_up_naming_deletes_the_mark_only_of_what_it_names(redis_cache):
    redis_cache.set("unclaimed", 43, timeout=None)
    assert redis_cache.count_up_naming("version", 5000, "followed", 42, "unclaimed")
    assert redis_cache.get("unclaimed") == 43
    assert redis_cache.count_up_naming("version", 5000, "followed", 43, "unclaimed")
    assert redis_cache.get("unclaimed") is None


def test_count_up_unless_marks_in_the_same_step_where_no_mark_is_set_yet(redis_cache):
    assert redis_cache.count_up_unless("version", 5000, "followed", 42, mark={"unclaimed": 42})[1]
    assert redis_cache.get_many(["followed", "unclaimed"]) == {"followed": 42, "unclaimed": 42}
    assert redis_cache.count_up_unless("version", 5000, "followed", 43, mark={"unclaimed": 43})[1]
    assert redis_cache.get_many(["followed", "unclaimed"]) == {"followed": 43, "unclaimed": 42}


def test_count_up_unless_leaves_a_higher_value_unless_told_to_lower_it(redis_cache):
    assert redis_cache.count_up_unless("version", 5000, "followed", 42) == (5000, True, None)
    assert redis_cache.count_up_unless("version", 5000, "followed", 41) == (5000, False, 42)
    assert redis_cache.count_up_unless("version", 5000, "followed", 41, lower=True) == (5001, True, 42)
    assert redis_cache.get("followed") == 41


def _another_process_before_the_first_step(redis_cache, monkeypatch, do):
    """`do(other)` run once, with a client of another process, right before `redis_cache`'s
    next WATCH transaction starts its step (MULTI); what it returned, in a list."""
    client = redis_cache._cache.get_client(write=True)
    other = RedisCache(redis_cache._servers[0], {"KEY_PREFIX": redis_cache.key_prefix})
    real_pipeline = client.pipeline
    raced = []

    def pipeline(*args, **kwargs):
        pipe = real_pipeline(*args, **kwargs)
        real_multi = pipe.multi

        def multi():
            if not raced:
                raced.append(do(other))
            return real_multi()

        pipe.multi = multi
        return pipe

    monkeypatch.setattr(client, "pipeline", pipeline)
    return raced


def test_count_up_naming_claims_a_mark_set_between_its_read_and_its_step(redis_cache, monkeypatch):
    # A page made marks the version this change names, after the change read the mark and
    # before its step: the step is refused (WATCH), and the change claims the mark.
    redis_cache.set("followed", 41, timeout=None)
    raced = _another_process_before_the_first_step(
        redis_cache, monkeypatch, lambda other: other.count_up_unless("version", 5000, "followed", 42, mark={"unclaimed": 42})
    )
    assert redis_cache.count_up_naming("version", 5000, "followed", 42, "unclaimed")
    assert raced and raced[0][1], "the page made moved the version"
    assert redis_cache.get("unclaimed") is None


def test_count_up_unless_counts_up_only_where_the_check_holds_another_value(redis_cache):
    assert redis_cache.count_up_unless("version", 5000, "followed", 42) == (5000, True, None)
    assert redis_cache.count_up_unless("version", 5000, "followed", 42) == (5000, False, 42)
    assert redis_cache.count_up_unless("version", 5000, "followed", 43) == (5001, True, 42)
    assert redis_cache.get_many(["version", "followed"]) == {"version": 5001, "followed": 43}
    redis_cache.delete("version")  # as a full Redis does
    assert redis_cache.count_up_unless("version", 7000, "followed", 43) == (7000, False, 43)


def test_count_up_unless_counts_up_once_for_processes_doing_it_at_once(redis_cache, monkeypatch):
    # Another process counts up for the same value between this one's check and its step:
    # this one's step is refused (WATCH), and it checks again.
    raced = _another_process_before_the_first_step(
        redis_cache, monkeypatch, lambda other: other.count_up_unless("version", 5000, "followed", 42)
    )
    assert redis_cache.count_up_unless("version", 5000, "followed", 42) == (5000, False, 42)
    assert raced == [(5000, True, None)]


@pytest.fixture
def redis_user_without_scripting():
    """The URL of the tests' Redis for a user that may do everything but run scripts, as on
    Redis services that refuse EVAL."""
    url = redis_url(REDIS_DB)
    admin = redis.Redis.from_url(url)
    name, password = f"test-no-scripts-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    admin.execute_command("ACL", "SETUSER", name, "on", f">{password}", "~*", "&*", "+@all", "-@scripting")
    parts = urllib.parse.urlsplit(url)
    try:
        yield parts._replace(netloc=f"{name}:{password}@{parts.hostname}:{parts.port}").geturl()
    finally:
        admin.execute_command("ACL", "DELUSER", name)
        admin.close()


def test_the_version_is_counted_by_a_redis_user_that_may_not_run_scripts(redis_user_without_scripting):
    cache = RedisCache(redis_user_without_scripting, {"KEY_PREFIX": unique_key_prefix()})
    with pytest.raises(redis.exceptions.NoPermissionError):
        cache._cache.get_client(write=True).eval("return 1", 0)
    assert cache.count_up("version", 5000) and cache.count_up("version", 5000)
    assert cache.get("version") == 5001
    assert cache.start_counter("version", 7) == 5001 and cache.start_counter("other", 7) == 7


def test_server_run_id_is_the_servers_own(redis_cache):
    run_id = redis_cache.server_run_id()
    assert run_id == redis.Redis.from_url(redis_url(REDIS_DB)).info("server")["run_id"]
    assert len(run_id) == 40


@pytest.fixture
def redis_on_a_unix_socket(tmp_path):
    socket_path = str(tmp_path / "redis.sock")
    with redis_server_of_its_own("--port", "0", "--unixsocket", socket_path, unix_socket_path=socket_path):
        yield f"unix://{socket_path}"


@pytest.mark.django_db(transaction=True)
def test_a_redis_url_on_a_unix_socket_stores_pages_and_takes_changes_at_once(
    client, settings, monkeypatch, redis_on_a_unix_socket, caplog
):
    # The settings as REDIS_URL=unix://... makes them: without TCP keepalives, which redis-py
    # refuses for a Unix socket (every cache call failed, every change waited for Redis).
    settings.REDIS_OPTIONS = load_settings(monkeypatch, DJANGO_DEBUG="1", REDIS_URL=redis_on_a_unix_socket).REDIS_OPTIONS
    use_redis_page_cache(settings, REDIS_DB, location=redis_on_a_unix_socket)
    make_article("Over a socket")
    assert client.get("/news/")[HEADER] == "miss"
    assert client.get("/news/")[HEADER] == "hit"

    make_article("Changed")
    assert content_version.every_change_recorded() and "could not record" not in caplog.text
    assert "Changed" in client.get("/news/").content.decode()


@pytest.fixture
def redis_user_without_channels():
    """The URL of the tests' Redis as a user of its own who may use every key and command but
    no channel (a Redis 7 user made without `&*`: `acl-pubsub-default` is resetchannels)."""
    url = urllib.parse.urlsplit(redis_url(REDIS_DB))
    admin = redis.Redis.from_url(url.geturl())
    user, password = f"test-{uuid.uuid4().hex}", uuid.uuid4().hex
    admin.acl_setuser(user, enabled=True, passwords=[f"+{password}"], keys=["*"], commands=["+@all"], reset_channels=True)
    try:
        yield url._replace(netloc=f"{user}:{password}@{url.hostname}:{url.port}").geturl()
    finally:
        admin.acl_deluser(user)
        admin.close()


@pytest.mark.django_db(transaction=True)
def test_a_redis_user_refused_the_channel_is_logged_with_redis_s_reason(client, settings, caplog, redis_user_without_channels):
    # Every page goes uncached then; the warning said only that there was no subscription.
    make_article("Unannounced")
    use_redis_page_cache(settings, REDIS_DB, location=redis_user_without_channels)
    assert client.get("/news/")[HEADER] == "miss"
    [failure] = [record for record in caplog.records if record.exc_info]
    assert isinstance(failure.exc_info[1].__cause__, redis.exceptions.NoPermissionError)


def test_a_redis_url_naming_several_servers_is_refused(monkeypatch):
    # Django's RedisCache reads from the servers after the first, replicas that may lag: the
    # page and the content version from before a change would be served as current.
    for separator in ",;":
        several = f"redis://:s3cret@cache-a:6379/0{separator}redis://:s3cret@cache-b:6379/0"
        with pytest.raises(ImproperlyConfigured, match="REDIS_URL names several servers") as refused:
            load_settings(monkeypatch, DJANGO_DEBUG="1", REDIS_URL=several)
        assert "s3cret" not in str(refused.value)
