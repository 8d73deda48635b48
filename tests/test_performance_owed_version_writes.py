"""A change whose version write gave up (an outage longer than VERSION_WRITE_SECONDS) has it
made in the background (baltmet.content_version._OwedVersionWrites) by one thread per process,
whatever the timing of other changes giving up meanwhile. These commit (transactional_db)."""

import os
import threading
import time
import types
from urllib.parse import urlparse

import pytest
from django.db import OperationalError, connection, connections

from baltmet import content_version
from baltmet.models import ContentVersion
from baltmet.content_version import content_changed
from news.models import Article
from tests.autocommit import autocommit_off
from tests.failing_version_writes import database_refusing_version_writes
from tests.fixture_tools import IMPORT_FIXTURES
from tests.forked_child import in_a_forked_child
from tests.page_cache_settings import use_local_memory_page_cache
from tests.redis_for_tests import UnreachableCache, use_redis_page_cache
from tests.subprocess_env import child_database_url, env_on_the_test_database, run_manage, run_python

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_DB = 8
THREAD_NAME = "page-cache-owed-versions"


@pytest.fixture
def database_down(settings, monkeypatch):
    """Without Redis or watches, the version row made; set while the database refuses the
    version's writes, and quick retries."""
    use_local_memory_page_cache(settings, listen=False)
    content_changed()
    down = database_refusing_version_writes(monkeypatch)
    monkeypatch.setattr(content_version, "VERSION_WRITE_SECONDS", 0.2)
    monkeypatch.setattr(content_version, "OWED_VERSION_RETRY_SECONDS", 0.05)
    return down


def _database_refusing_the_first_write(monkeypatch):
    """The database refuses the version's first write only: with Redis, Redis's version moves
    first and the database's in the next round."""
    tries = []
    real_write = content_version._write_new_database_version

    def write(using):
        tries.append(using)
        if len(tries) == 1:
            raise OperationalError("the database system is starting up")
        return real_write(using)

    monkeypatch.setattr(content_version, "_write_new_database_version", write)


def _version():
    return ContentVersion.objects.get(pk=1).version


def _owed_threads():
    return [thread for thread in threading.enumerate() if thread.name == THREAD_NAME]


def _version_moves_from(version, seconds=3):
    deadline = time.monotonic() + seconds
    while _version() == version and time.monotonic() < deadline:
        time.sleep(0.02)
    return _version() != version


class _LastStepHeldBack:
    """page_cache's `connections`, where the thread's last step (closing its connection, after
    it decided to end) waits until `go` is set."""

    def __init__(self):
        self.ending, self.go = threading.Event(), threading.Event()

    def __getitem__(self, alias):
        real, held = connections[alias], self
        if threading.current_thread().name != THREAD_NAME:
            return real

        class Held:
            def __getattr__(self, name):
                return getattr(real, name)

            def close(self):
                held.ending.set()
                held.go.wait(5)
                real.close()

        return Held()


def test_a_change_giving_up_while_the_thread_is_ending_gets_a_thread_of_its_own(database_down, monkeypatch):
    held = _LastStepHeldBack()
    monkeypatch.setattr(content_version, "connections", held)
    content_changed()  # gives up: the thread starts
    database_down.clear()  # it writes that version, finds nothing owed, and ends
    assert held.ending.wait(5)
    database_down.set()  # a second outage: a change gives up while that thread is still alive
    content_changed()
    held.go.set()
    version = _version()
    database_down.clear()
    assert _version_moves_from(version), f"never written: threads {_owed_threads()}"


def test_two_changes_giving_up_at_once_start_one_thread_that_stopping_ends(database_down, monkeypatch):
    content_version._writes_given_up.add("the database")  # as two changes that both just gave up
    in_start, go = threading.Event(), threading.Event()

    class SlowToStart(threading.Thread):
        first = True

        def start(self):
            if SlowToStart.first:  # the first change's thread is descheduled right here
                SlowToStart.first = False
                in_start.set()
                go.wait(5)
            super().start()

    fake_threading = types.SimpleNamespace(
        Thread=SlowToStart, Lock=threading.Lock, Event=threading.Event, current_thread=threading.current_thread
    )
    monkeypatch.setattr(content_version, "threading", fake_threading)
    first = threading.Thread(target=content_version._OwedVersionWrites.start, args=["default"])
    first.start()
    assert in_start.wait(5)
    threading.Thread(target=content_version._OwedVersionWrites.start, args=["default"]).start()
    time.sleep(0.1)  # the second change's start(), meanwhile
    go.set()
    first.join(5)
    running = _owed_threads()
    content_version._OwedVersionWrites.stop_all()
    assert len(running) == 1, f"{len(running)} threads for one database"
    assert not [thread for thread in running if thread.is_alive()], "a thread outlived stop_all()"


def test_a_change_giving_up_right_after_the_background_write_is_written_too(database_down, monkeypatch):
    written, go = threading.Event(), threading.Event()
    real_write_briefly = content_version._write_waiting_briefly

    def write_briefly(using):
        real_write_briefly(using)
        if threading.current_thread().name == THREAD_NAME:
            written.set()
            go.wait(5)  # between the thread's commit and its forgetting that a write was owed

    monkeypatch.setattr(content_version, "_write_waiting_briefly", write_briefly)
    content_changed()  # gives up: the thread starts
    database_down.clear()
    assert written.wait(5)
    version = _version()
    database_down.set()  # a change committed after that write gives up as well
    content_changed()
    go.set()
    database_down.clear()
    assert _version_moves_from(version), f"never written: owed {content_version._writes_given_up}"


def test_redis_given_up_inside_a_transaction_is_written_in_the_background(database_down, settings, monkeypatch):
    # A script with autocommit off calls content_changed() after its commit, as documented:
    # the database's write fails (raised to it), and Redis is down.
    cache = use_redis_page_cache(settings, REDIS_DB)
    settings.PAGE_CACHE_LISTEN = False
    database_down.clear()
    content_changed()
    version = cache.get(content_version.VERSION_KEY)
    real_cache = content_version.shared_cache
    redis_down = threading.Event()
    redis_down.set()
    monkeypatch.setattr(content_version, "shared_cache", lambda: UnreachableCache() if redis_down.is_set() else real_cache())
    database_down.set()
    with autocommit_off():
        connection.cursor().execute("SELECT 1")  # the script's own work: its transaction is open
        with pytest.raises(OperationalError):
            content_changed()
        connection.rollback()
    assert content_version._writes_given_up == {"the shared cache"}
    redis_down.clear()
    database_down.clear()
    deadline = time.monotonic() + 3
    while cache.get(content_version.VERSION_KEY) == version and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cache.get(content_version.VERSION_KEY) != version, f"never written: threads {_owed_threads()}"


def test_a_give_up_that_the_next_change_recovers_is_logged_as_recovered(database_down, monkeypatch, caplog):
    monkeypatch.setattr(content_version, "OWED_VERSION_RETRY_SECONDS", 30)  # the next change comes first
    content_changed()
    assert "could not record a content change in the database" in caplog.text
    database_down.clear()
    content_changed()
    assert content_version._writes_given_up == set()
    assert "recorded a content change in the database again" in caplog.text


def test_with_redis_a_second_move_given_up_is_made_in_the_background(database_down, settings, monkeypatch):
    # The database's first try fails (Redis's version moves first), its second gets through,
    # and Redis stalls right after its first move: the second move, which keeps pages stored
    # in between from carrying the old validators, is owed.
    cache = use_redis_page_cache(settings, REDIS_DB)
    settings.PAGE_CACHE_LISTEN = False
    database_down.clear()
    content_changed()
    real_incr = content_version._incr_and_announce
    redis_tries = []
    redis_down = threading.Event()
    _database_refusing_the_first_write(monkeypatch)

    def incr(cache):
        redis_tries.append(cache)
        if len(redis_tries) == 2:
            redis_down.set()
        if redis_down.is_set():
            raise ConnectionError("Redis is down")
        return real_incr(cache)

    monkeypatch.setattr(content_version, "_incr_and_announce", incr)
    content_changed()
    assert content_version._writes_given_up == {"the shared cache"}
    version = cache.get(content_version.VERSION_KEY)
    redis_down.clear()
    deadline = time.monotonic() + 3
    while cache.get(content_version.VERSION_KEY) == version and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cache.get(content_version.VERSION_KEY) != version, f"never made: threads {_owed_threads()}"


def _a_script_writes_the_version_in_its_transaction_then_rolls_back():
    with autocommit_off():
        connection.cursor().execute("SELECT 1")  # the script's own work: its transaction is open
        content_changed()  # written in the script's transaction (an error is logged)
        connection.rollback()


def test_a_write_rolled_back_with_a_scripts_transaction_does_not_pay_an_owed_version(database_down, monkeypatch):
    script_running = threading.Event()
    script_running.set()
    real_write = content_version._write_new_database_version

    def write(using):  # the thread's tries fail until the script is done
        if threading.current_thread().name == THREAD_NAME and script_running.is_set():
            raise OperationalError("the database system is starting up")
        return real_write(using)

    content_changed()  # an editor's save gives up: its version is owed
    version = _version()
    database_down.clear()
    monkeypatch.setattr(content_version, "_write_new_database_version", write)
    _a_script_writes_the_version_in_its_transaction_then_rolls_back()
    script_running.clear()
    assert _version_moves_from(version), f"the owed version was dropped: owed {content_version._writes_given_up}"


def test_no_recovery_is_logged_for_a_write_not_committed(database_down, monkeypatch, caplog):
    monkeypatch.setattr(content_version, "OWED_VERSION_RETRY_SECONDS", 30)  # the script comes first
    content_changed()
    database_down.clear()
    _a_script_writes_the_version_in_its_transaction_then_rolls_back()
    assert "recorded a content change in the database again" not in caplog.text


# A script whose database refuses the version's writes until the script's `AT_EXIT` code runs
# (if it makes it answer again), with the background's tries out of the way: what it owes is
# paid as it exits or not at all. `BEFORE` runs before Django is set up, `SCRIPT` after the
# refusals begin.
_SCRIPT_GIVING_UP = """
import atexit, json, os, types
from tests.tcp_proxy import Proxy
{before}
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baltmet.settings")
import django
django.setup()
from django.db import transaction
from baltmet import content_version
from tests.failing_version_writes import database_refusing_version_writes
from tests.fixture_tools import IMPORT_FIXTURES

down = database_refusing_version_writes(types.SimpleNamespace(setattr=setattr))  # for good: no undo
content_version.VERSION_WRITE_SECONDS = 0.3
content_version.OWED_VERSION_RETRY_SECONDS = 600
{script}

def at_exit():
    {at_exit}

atexit.register(at_exit)  # registered after page_cache's own: runs before it
print(json.dumps(sorted(content_version._writes_given_up)))
"""


def _script_giving_up(at_exit, script="content_version.content_changed()", before="", timeout=60, **env):
    env = env_on_the_test_database(DJANGO_PAGE_CACHE_LISTEN="0", **env)
    result = run_python(_SCRIPT_GIVING_UP.format(before=before, script=script, at_exit=at_exit), env, timeout)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ['["the', 'database"]'], "the script's change did not give up"
    return result


def test_a_script_ending_with_a_version_owed_writes_it_as_it_exits():
    content_changed()
    version = _version()
    _script_giving_up(at_exit="down.clear()")
    assert _version() != version, "the script's change never moved the version"


def test_a_script_ending_with_the_database_still_down_says_what_it_leaves_owed():
    content_changed()
    version = _version()
    result = _script_giving_up(at_exit="pass")
    assert _version() == version
    assert "ends without recording a content change in the database" in result.stderr


# manage.py running a command that changes content, with the database refusing the version's
# writes from the start (for good, unless `AT_FINISH` makes it answer again as the process
# settles what it owes).
_MANAGE_PY_GIVING_UP = """
import os, sys, types
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baltmet.settings")
import django
django.setup()
from baltmet import content_version
from tests.failing_version_writes import database_refusing_version_writes
from tests.fixture_tools import IMPORT_FIXTURES
import manage

down = database_refusing_version_writes(types.SimpleNamespace(setattr=setattr))
content_version.VERSION_WRITE_SECONDS = 0.3
content_version.OWED_VERSION_RETRY_SECONDS = 600
real_finish = content_version._OwedVersionWrites.finish

def finish(seconds):
    {at_finish}
    return real_finish(seconds)

content_version._OwedVersionWrites.finish = finish
sys.argv = ["manage.py", "loaddata", {fixture!r}, "--verbosity", "0"]
manage.main()
"""


def _manage_py_loading_content(at_finish):
    script = _MANAGE_PY_GIVING_UP.format(at_finish=at_finish, fixture=str(IMPORT_FIXTURES / "base_content.json"))
    return run_python(script, env_on_the_test_database(DJANGO_PAGE_CACHE_LISTEN="0"))


def test_a_command_whose_change_the_page_cache_never_heard_of_exits_1():
    content_changed()
    version = _version()
    result = _manage_py_loading_content(at_finish="pass")
    assert result.returncode == 1, result.stderr
    assert "ends without recording a content change in the database" in result.stderr
    assert _version() == version
    assert Article.objects.exists(), "the command's own work is kept"


def test_a_command_whose_change_is_recorded_as_it_exits_exits_0():
    content_changed()
    version = _version()
    result = _manage_py_loading_content(at_finish="down.clear()")
    assert result.returncode == 0, result.stderr
    assert "ends without recording" not in result.stderr
    assert _version() != version


@pytest.mark.parametrize("args", [["--version"], ["help"]])
def test_manage_py_without_working_settings_still_answers_what_needs_none(args):
    # Without a secret key (DEBUG off) Django is never set up for these: manage.py must not
    # load the page cache's code to ask what it owes (review r31).
    result = run_manage(args, {"DJANGO_SETTINGS_MODULE": "baltmet.settings"})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_a_script_with_autocommit_off_has_what_it_owes_committed_as_it_exits():
    content_changed()
    version = _version()
    script = """
transaction.set_autocommit(False)
transaction.commit()  # the script's own work
content_version.content_changed()  # after its commit, as documented: gives up
"""
    _script_giving_up(at_exit="down.clear()", script=script)
    assert _version() != version, "written in the script's transaction, and rolled back as it ended"


def test_a_script_whose_database_goes_silent_as_it_exits_still_ends():
    content_changed()
    host, port = connection.settings_dict["HOST"], int(connection.settings_dict["PORT"])
    before = (
        f"proxy = Proxy(({host!r}, {port}))\n"
        f"os.environ['DATABASE_URL'] = {child_database_url()!r}.replace('@{host}:{port}/', f'@127.0.0.1:{{proxy.port}}/')"
    )
    # Nothing gets through, and nothing says so: without a bound, a try waits for ever (and the
    # script is stopped at 30 s, failing the test).
    result = _script_giving_up(at_exit="proxy.cut(); down.clear()", before=before, timeout=30)
    assert "ends without recording a content change in the database" in result.stderr


def test_a_script_exiting_as_redis_goes_silent_says_it_did_not_finish():
    # At exit the database's write gets through, and Redis's version is to move again after
    # it (pages stored meanwhile carry the old validators); Redis no longer answers.
    content_changed()
    version = _version()
    before = (
        f"proxy = Proxy(('127.0.0.1', {_redis_port()}))\n"
        f"os.environ['REDIS_URL'] = f'redis://127.0.0.1:{{proxy.port}}/{REDIS_DB}'"
    )
    script = """
down.clear()
content_version.content_changed()  # both written: the connections to Redis and the database are open
down.set()
content_version.content_changed()  # Redis's version moves, the database's gives up: owed
"""
    result = _script_giving_up(
        at_exit="down.clear(); proxy.cut()", script=script, before=before, timeout=30, DJANGO_REDIS_TIMEOUT="1"
    )
    assert _version() != version, "the thread did not pay the database"
    assert "ends while still recording a content change" in result.stderr


_SCRIPT_INTERRUPTED = """
import atexit, os, signal, threading, types
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baltmet.settings")
import django
django.setup()
from baltmet import content_version
from tests.failing_version_writes import database_refusing_version_writes
from tests.fixture_tools import IMPORT_FIXTURES

down = database_refusing_version_writes(types.SimpleNamespace(setattr=setattr))  # for good: no undo
content_version.VERSION_WRITE_SECONDS = 30.0  # still trying when the script is stopped
content_version.OWED_VERSION_RETRY_SECONDS = 600
atexit.register(down.clear)  # the database is back as the script ends
threading.Timer(0.5, os.kill, [os.getpid(), signal.SIGINT]).start()  # Ctrl-C
content_version.content_changed()  # the change is saved; its version is being written
"""


def test_a_script_stopped_while_writing_a_version_writes_it_as_it_exits():
    content_changed()
    version = _version()
    result = run_python(_SCRIPT_INTERRUPTED, env_on_the_test_database(), timeout=60)
    assert "KeyboardInterrupt" in result.stderr, result.stderr  # stopped during the tries
    assert "interrupted while recording a content change in the database" in result.stderr
    assert _version() != version, "the stopped script's change never moved the version"


_SCRIPT_STOPPED_TWICE = """
import os, signal, threading, types
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baltmet.settings")
import django
django.setup()
from baltmet import content_version
from tests.failing_version_writes import database_refusing_version_writes
from tests.fixture_tools import IMPORT_FIXTURES

database_refusing_version_writes(types.SimpleNamespace(setattr=setattr))  # down for good
content_version.VERSION_WRITE_SECONDS = 30.0  # still trying when the script is stopped, and as it exits
content_version.OWED_VERSION_RETRY_SECONDS = 600
threading.Timer(0.5, os.kill, [os.getpid(), signal.SIGINT]).start()  # Ctrl-C
again = threading.Timer(3.0, os.kill, [os.getpid(), signal.SIGINT])  # again, as the exit waits
again.daemon = True
again.start()
content_version.content_changed()
"""


def test_a_script_stopped_again_as_it_exits_still_says_what_it_leaves_owed():
    result = run_python(_SCRIPT_STOPPED_TWICE, env_on_the_test_database(), timeout=60)
    assert "interrupted while recording a content change in the database" in result.stderr, result.stderr
    assert "ends without recording a content change in the database" in result.stderr, result.stderr[-3000:]


def test_a_change_stopped_while_it_moves_the_shared_version_again_has_it_moved_in_the_background(
    database_down, settings, monkeypatch, caplog
):
    # The database's first try fails (Redis's version moves first, the database's in the next
    # round), and the change is stopped while it moves Redis's version once more.
    cache = use_redis_page_cache(settings, REDIS_DB)
    database_down.clear()
    real_shared_write = content_version._write_shared_version
    shared_tries = []
    _database_refusing_the_first_write(monkeypatch)

    def shared_write():
        shared_tries.append(1)
        if len(shared_tries) == 2:  # the second move
            raise KeyboardInterrupt
        return real_shared_write()

    monkeypatch.setattr(content_version, "_write_shared_version", shared_write)
    with pytest.raises(KeyboardInterrupt):
        content_changed()
    assert "interrupted while recording a content change in the shared cache" in caplog.text
    version = cache.get(content_version.VERSION_KEY)
    deadline = time.monotonic() + 3
    while cache.get(content_version.VERSION_KEY) == version and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cache.get(content_version.VERSION_KEY) != version, f"never moved again: threads {_owed_threads()}"


def test_a_change_stopped_while_it_tells_the_watches_still_has_what_it_owes_paid(settings, monkeypatch):
    # Redis is down (its version owed), the database's is written, and the change is stopped
    # while it tells the processes watching the database.
    use_redis_page_cache(settings, REDIS_DB)
    content_changed()
    monkeypatch.setattr(content_version, "shared_cache", UnreachableCache)
    monkeypatch.setattr(content_version, "VERSION_WRITE_SECONDS", 0.2)

    def stopped(using):
        raise KeyboardInterrupt

    monkeypatch.setattr(content_version, "_tell_the_database_watches", stopped)
    with pytest.raises(KeyboardInterrupt):
        content_changed()
    assert content_version._writes_given_up == {"the shared cache"}
    assert _owed_threads(), "owed, and no thread to pay it"


def test_an_exit_stopped_again_says_what_it_may_leave_unfinished(monkeypatch, caplog):
    def stopped_again(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(content_version._OwedVersionWrites, "finish", stopped_again)
    monkeypatch.setattr(content_version, "_exit_settled", None)
    with pytest.raises(KeyboardInterrupt):
        content_version.settle_before_exit()
    assert "ends while still recording a content change" in caplog.text


def _redis_port():
    return urlparse(os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379")).port


def test_stopping_the_threads_after_an_exit_leaves_the_next_one_at_its_usual_pace(database_down, monkeypatch):
    # Its usual pace: a try every 30 s, the first not before; an exit's is at once.
    monkeypatch.setattr(content_version, "OWED_VERSION_RETRY_SECONDS", 30)
    content_version._OwedVersionWrites.finish(0)
    content_version._OwedVersionWrites.stop_all()
    tries = []
    real_pay = content_version._pay_owed_versions
    monkeypatch.setattr(content_version, "_pay_owed_versions", lambda *args: tries.append(1) or real_pay(*args))
    content_changed()  # gives up: the thread starts, its first try due in 30 s
    time.sleep(0.6)
    assert tries == [], f"{len(tries)} tries in 0.6 s"


def _a_thread_starts():
    started = threading.Event()
    content_version._OwedVersionWrites._run = classmethod(lambda cls, using: started.set())
    content_version._OwedVersionWrites.start("default")
    return started.wait(3)


def test_a_forked_child_starts_its_own_thread_for_what_it_owes(database_down):
    content_changed()  # gives up: this process's thread is running
    assert _owed_threads()
    assert in_a_forked_child(_a_thread_starts), "the child took its parent's thread for its own"


def test_a_fork_while_a_thread_holds_the_lock_leaves_the_child_able_to_start_one(database_down):
    with content_version._OwedVersionWrites._lock:  # as a thread in start() at the moment of the fork
        assert in_a_forked_child(_a_thread_starts), "the child waits for a lock nobody there will release"


def test_a_fork_while_a_change_is_giving_up_leaves_the_child_able_to_give_up(database_down):
    def gives_up():
        content_version._give_up("the database")
        return "the database" in content_version._writes_given_up

    with content_version._given_up_lock:  # as a change giving up, in another thread, at the moment of the fork
        assert in_a_forked_child(gives_up), "the child waits for a lock nobody there will release"
