"""The tests' Redis. scripts/ensure-test-services.sh, which `make test` runs the suite through:
the Redis it starts is its own and is stopped when the command ends, however that ends, and
the command runs as it would in the foreground. A Redis given with REDIS_TEST_PORT may be
someone's own: the tests empty none of its databases."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import redis

from tests.redis_for_tests import emptied, redis_server_of_its_own, redis_url, use_redis_page_cache
from tests.subprocess_env import free_port

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ensure-test-services.sh"


def _answers(port):
    ping = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, timeout=10)
    return ping.stdout.strip() == "PONG"


def _environment(port, path=None):
    return {**os.environ, "REDIS_TEST_PORT": str(port), "PATH": path or os.environ["PATH"]}


def _wait_for(path):
    """Until `path` exists (a stub's or a command's mark that it has come so far)."""
    for _ in range(600):
        if path.exists():
            return
        time.sleep(0.05)
    raise AssertionError(f"{path.name} did not appear in 30 s")


def _status_after_a_signal(script, command, mark, port, path=None, signum=signal.SIGTERM, to_the_group=False):
    """The exit status of `script` -- `command`, sent a TERM (or `signum`; with `to_the_group`,
    to the command too, as a terminal's Ctrl-C) once `mark` exists; nothing of it is left
    running."""
    running = subprocess.Popen(["bash", str(script), "--", *command], env=_environment(port, path),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for(mark)
        if to_the_group:
            os.killpg(running.pid, signum)
        else:
            running.send_signal(signum)
        return running.wait(timeout=40)
    finally:
        if running.poll() is None:
            os.killpg(running.pid, signal.SIGKILL)
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True, timeout=10)


def _run(port, *command, path=None, timeout=60, **options):
    return subprocess.run(
        ["bash", str(SCRIPT), "--", *command], env=_environment(port, path), capture_output=True, text=True,
        timeout=timeout, **options,
    )


def test_the_commands_exit_status_is_the_scripts_and_its_redis_is_stopped():
    port = free_port()
    run = _run(port, "sh", "-c", 'redis-cli -u "$REDIS_TEST_URL" ping && exit 5')
    assert run.returncode == 5 and run.stdout.splitlines()[-1] == "PONG", run.stderr
    assert not _answers(port)


@pytest.mark.parametrize("redis", ["started by the script", "given with REDIS_TEST_PORT"])
def test_the_command_gets_ctrl_c_and_stdin_as_in_the_foreground(redis):
    # Started in the background, a command ignores SIGINT (pytest would go on after Ctrl-C) and
    # reads /dev/null, unless the script gives both back.
    port = free_port()
    reads = "import signal, sys; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler, sys.stdin.read())"
    if redis == "started by the script":
        run = _run(port, sys.executable, "-c", reads, input="typed")
    else:
        with redis_server_of_its_own("--port", str(port), port=port):
            run = _run(port, sys.executable, "-c", reads, input="typed")
        assert f"using the Redis already answering on 127.0.0.1:{port}" in run.stdout
    assert run.returncode == 0 and run.stdout.splitlines()[-1] == "True typed", run.stderr


def test_a_term_sent_to_the_script_alone_ends_the_command_and_redis_at_once(tmp_path):
    # As when make alone is stopped, or a CI step's time limit signals the script: bash runs a
    # trap only once a foreground command has ended, so the suite ran on to its end.
    port = free_port()
    pid_file = tmp_path / "command.pid"
    command = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(120)"
    script = subprocess.Popen(
        ["bash", str(SCRIPT), "--", sys.executable, "-c", command],
        env=_environment(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    command_pid = None
    try:
        for _ in range(300):
            if pid_file.exists() and pid_file.read_text():
                break
            time.sleep(0.1)
        command_pid = int(pid_file.read_text())
        script.send_signal(signal.SIGTERM)
        # Waited for well under the command's two minutes: a script that waits for the command
        # to end by itself fails here. Passed on as a Ctrl-C, which ends Python by SIGINT.
        assert script.wait(timeout=40) == 128 + signal.SIGINT
    finally:
        if script.poll() is None:  # failed: nothing of it left running
            script.kill()
            if command_pid:
                os.kill(command_pid, signal.SIGKILL)
            subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True, timeout=10)
    with pytest.raises(ProcessLookupError):
        os.kill(command_pid, 0)
    assert not _answers(port)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_terms_to_the_script_end_pytests_workers_before_the_script_and_its_redis(tmp_path):
    # make test runs pytest with pytest-xdist: a TERM passed on to pytest's main process alone
    # left its workers running past the script, their teardown finding no Redis (review r28c);
    # so did a second TERM passed on during pytest's stop (review r28e).
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_slow.py").write_text(
        "import os, subprocess, time, pytest\n"
        f"OUT = {str(tmp_path)!r}\n"
        "@pytest.fixture\n"
        "def redis_at_teardown():\n"
        "    open(os.path.join(OUT, f'worker-{os.getpid()}'), 'w').close()\n"
        "    yield\n"
        "    time.sleep(2)\n"
        "    ping = subprocess.run(['redis-cli', '-u', os.environ['REDIS_TEST_URL'], 'ping'], capture_output=True, text=True)\n"
        "    open(os.path.join(OUT, f'teardown-{os.getpid()}'), 'w').write(ping.stdout.strip() or ping.stderr.strip())\n"
        "@pytest.mark.parametrize('n', range(2))\n"
        "def test_slow(redis_at_teardown, n):\n"
        "    time.sleep(120)\n"
    )
    port = free_port()
    script = subprocess.Popen(
        ["bash", str(SCRIPT), "--", sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:django",
         "-n", "2", "test_slow.py"],
        cwd=tmp_path, env=_environment(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    workers = []
    try:
        for _ in range(600):
            workers = [int(path.name.split("-")[1]) for path in tmp_path.glob("worker-*")]
            if len(workers) == 2:
                break
            time.sleep(0.1)
        assert len(workers) == 2
        script.send_signal(signal.SIGTERM)
        time.sleep(1)  # pytest stopping its workers, whose teardown takes two seconds
        script.send_signal(signal.SIGTERM)
        assert script.wait(timeout=60) != 0
        left = [pid for pid in workers if _alive(pid)]
        teardowns = {path.name: path.read_text() for path in tmp_path.glob("teardown-*")}
        assert left == [], f"workers {left} still running when the script ended"
        assert sorted(teardowns.values()) == ["PONG", "PONG"], teardowns
    finally:
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True, timeout=10)


def test_a_term_to_the_script_fails_it_though_the_command_ends_well_on_ctrl_c(tmp_path):
    ready = tmp_path / "ready"
    handles = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGINT, lambda *args: sys.exit(0))\n"
        f"open({str(ready)!r}, 'w').close()\n"
        "time.sleep(60)\n"
    )
    status = _status_after_a_signal(SCRIPT, [sys.executable, "-c", handles], ready, free_port())
    assert status == 128 + signal.SIGTERM


def test_a_program_on_the_given_port_that_never_answers_does_not_hold_the_run():
    port = free_port()
    listener = socket.create_server(("127.0.0.1", port))
    accepted = []

    def taking_connections_never_answering():
        try:
            while True:
                accepted.append(listener.accept())
        except OSError:  # the listener closed
            pass

    threading.Thread(target=taking_connections_never_answering, daemon=True).start()
    try:
        run = _run(port, "sh", "-c", 'redis-cli -u "$REDIS_TEST_URL" ping', timeout=45)
    finally:
        listener.close()
        for connection, _ in accepted:
            connection.close()
    assert run.returncode == 0 and run.stdout.splitlines()[-1] == "PONG", run.stderr
    assert f"port {port} is taken" in run.stdout


def test_a_redis_that_takes_the_port_after_it_was_found_free_is_not_used(tmp_path):
    # Another run starting at the same moment: its Redis listens first, ours cannot, and the
    # suite would run against one the other run stops midway.
    port = free_port()
    real = subprocess.run(["sh", "-c", "command -v redis-server"], capture_output=True, text=True).stdout.strip()
    other = tmp_path / "other"
    other.mkdir()
    stubs = tmp_path / "bin"
    stubs.mkdir()
    (stubs / "redis-server").write_text(
        "#!/bin/sh\n"
        f"{real} --port {port} --bind 127.0.0.1 --daemonize yes --save '' --appendonly no --dir {other} "
        f"--pidfile {other}/pid --logfile {other}/log\n"
        "sleep 0.3\n"
        f'exec {real} "$@"\n'
    )
    (stubs / "redis-server").chmod(0o755)
    try:
        run = _run(port, "true", path=f"{stubs}:{os.environ['PATH']}")
    finally:
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True, timeout=10)
    assert run.returncode == 1
    assert "another program took the port meanwhile" in run.stderr


def test_emptying_a_tests_redis_cache_leaves_the_other_keys_of_its_database(settings):
    # Django's RedisCache.clear() is a FLUSHDB (review r28c).
    cache = use_redis_page_cache(settings, 8)
    others = redis.Redis.from_url(redis_url(8))
    someone_elses = f"someone-else-{uuid.uuid4().hex}"
    others.set(someone_elses, "their data")
    try:
        cache.set("page", "ours")
        emptied(cache)
        assert cache.get("page") is None
        assert others.get(someone_elses) == b"their data"
    finally:
        others.delete(someone_elses)
        others.close()


def test_a_shells_redis_url_is_not_the_tests_cache():
    # A developer's shell may have REDIS_URL set for the site they run: the tests' cache.clear()
    # calls would empty its database (review r28e).
    settings_of_the_tests = (
        "import django; from django.conf import settings; django.setup(); "
        "print(settings.CACHES['default']['BACKEND'])"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "REDIS_URL": "redis://127.0.0.1:9/5"}
    run = subprocess.run([sys.executable, "-c", settings_of_the_tests], env=environment, capture_output=True,
                         text=True, timeout=60, cwd=SCRIPT.parents[1])
    assert run.returncode == 0, run.stderr
    assert "redis" not in run.stdout.lower()


def _script_with(tmp_path, before_the_command_starts="", in_the_command_first="", after_ctrl_c_is_passed_on=""):
    """A copy of the script with shell code run just before the command starts, in the
    command's subshell before it gives Ctrl-C back, or in a TERM's trap once it has passed
    Ctrl-C on: to widen the moment a signal, or the command's end, can fall in."""
    source = SCRIPT.read_text()
    start = '( trap - INT QUIT; exec "$@" ) <&0 &\n'
    passed_on = 'kill -INT "$!" 2>/dev/null || true\n'
    assert source.count(start) == source.count(passed_on) == 1
    copy = tmp_path / "ensure-test-services.sh"
    copy.write_text(source.replace(
        start, f'{before_the_command_starts}\n( {in_the_command_first}\n trap - INT QUIT; exec "$@" ) <&0 &\n'
    ).replace(passed_on, f"{passed_on}{after_ctrl_c_is_passed_on}\n"))
    return copy


def test_a_term_just_before_the_command_starts_ends_the_script_as_a_term(tmp_path):
    # `$!` unset under `set -u` made it exit 1 (review r28f).
    port = free_port()
    copy = _script_with(tmp_path, before_the_command_starts="kill -TERM $$")
    run = subprocess.run(["bash", str(copy), "--", "true"], env=_environment(port), capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 128 + signal.SIGTERM, run.stderr
    assert not _answers(port)


def test_a_term_as_the_command_starts_is_passed_on_once_it_takes_ctrl_c(tmp_path):
    # Until it runs, bash has a background command ignore SIGINT: a Ctrl-C passed on then was
    # lost, and with it every later TERM (review r28f).
    # `sleep`, not Python: a Ctrl-C as Python starts, before its handler, may end it with 1.
    forked = tmp_path / "forked"
    copy = _script_with(tmp_path, in_the_command_first=f'touch "{forked}"; sleep 0.5')
    status = _status_after_a_signal(copy, ["sleep", "120"], forked, free_port())
    assert status == 128 + signal.SIGINT


def test_the_scripts_status_is_the_commands_though_the_command_ended_as_a_trap_ran(tmp_path):
    # A TERM's trap ended the script's wait as the command ended on the Ctrl-C passed on: bash
    # had reaped it meanwhile, and the script exited with the interrupted wait's 143, not the
    # command's 130 (seen once in six runs of the test above; widened here by a pause).
    copy = _script_with(tmp_path, after_ctrl_c_is_passed_on="sleep 0.5")
    ready = tmp_path / "ready"
    status = _status_after_a_signal(copy, ["sh", "-c", f'touch "{ready}"; exec sleep 120'], ready, free_port())
    assert status == 128 + signal.SIGINT


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "kill of the group"])
def test_a_signal_to_the_whole_group_gives_the_commands_status(tmp_path, signum):
    # As Ctrl-C in a terminal, or a CI runner's TERM to the job: the script and the command get
    # it at once, and bash lost the command's status to the interrupted wait; the script exited
    # 255 (review r29h; 7 and 10 times in 10).
    statuses = []
    for attempt in range(3):
        ready = tmp_path / f"ready-{attempt}"
        command = ["sh", "-c", f'touch "{ready}"; exec sleep 120']
        statuses.append(_status_after_a_signal(SCRIPT, command, ready, free_port(), signum=signum, to_the_group=True))
    assert statuses == [128 + signum] * 3


def _redis_server_starting_slowly(tmp_path, how):
    """A redis-server stub that starts the real one, then returns two seconds late, or returns
    at once and has the pidfile written half a second late (as Redis's daemon may)."""
    real = subprocess.run(["sh", "-c", "command -v redis-server"], capture_output=True, text=True).stdout.strip()
    stubs = tmp_path / "bin"
    stubs.mkdir()
    if how == "returns late":
        body = f'"{real}" "$@" || exit\ntouch "{tmp_path}/starting"\nsleep 2\n'
    else:
        body = (
            'pidfile=""; previous=""; for each in "$@"; do [ "$previous" = --pidfile ] && pidfile="$each"; previous="$each"; done\n'
            f'"{real}" "$@" --pidfile "{tmp_path}/real.pid" || exit\n'
            f'(sleep 0.5; cp "{tmp_path}/real.pid" "$pidfile") >/dev/null 2>&1 &\n'
            f'touch "{tmp_path}/starting"\n'
        )
    (stubs / "redis-server").write_text("#!/bin/sh\n" + body)
    (stubs / "redis-server").chmod(0o755)
    return f"{stubs}:{os.environ['PATH']}"


@pytest.mark.parametrize("how", ["returns late", "writes its pidfile late"])
def test_a_term_while_redis_starts_leaves_no_redis_running(tmp_path, how):
    # Between redis-server's start and the script's reading its pid (up to five seconds on a
    # loaded machine), the script knew no pid to stop (review r28e); and Redis's daemon writes
    # its pidfile after the command that started it has returned, when the script's trap may
    # already run (review r28f).
    port = free_port()
    script = subprocess.Popen(["bash", str(SCRIPT), "--", "true"],
                              env=_environment(port, _redis_server_starting_slowly(tmp_path, how)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(tmp_path / "starting")
        script.send_signal(signal.SIGTERM)
        assert script.wait(timeout=30) == 128 + signal.SIGTERM
        time.sleep(1)  # past the moment a Redis left running would answer
        for _ in range(50):  # Redis stopping
            if not _answers(port):
                break
            time.sleep(0.1)
        assert not _answers(port)
    finally:
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True, timeout=10)
