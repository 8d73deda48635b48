"""Run project code in a child process with its own environment (settings load once per process),
or serve it with gunicorn."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from tests.settings_loader import STRONG_KEY

PROJECT_DIR = Path(__file__).resolve().parent.parent


def child_env(env):
    """This process's environment without the project's settings (a child reads its own from
    `env`), plus `env`."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_URL"))}
    return {**inherited, **env}


def run_python(code, env, timeout=60, cwd=PROJECT_DIR, args=()):
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=child_env(env), capture_output=True, text=True, timeout=timeout
    )


def run_manage(args, env, timeout=120):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


_DJANGO_SET_UP = """
import json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baltmet.settings")
import django
django.setup()
"""


def run_django_json(body, env):
    """Run `body` in a child with Django set up (settings from `env`); `body` prints a JSON
    value on its last line, which is returned. The child must succeed."""
    result = run_python(_DJANGO_SET_UP + body, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@contextmanager
def django_child(body, *args, env):
    """A child running `body` with Django set up (settings from `env`) and `args` in sys.argv,
    its output readable as it comes (`child.stdout`); ended when the block ends, if it has not."""
    child = subprocess.Popen(
        [sys.executable, "-c", _DJANGO_SET_UP + body, *args],
        cwd=PROJECT_DIR,
        env=child_env(env),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()


def sqlite_site_env(tmp_path, *fixtures):
    """The environment of a child serving the site as `make run` does by default: on a new
    SQLite database in `tmp_path`, migrated, with `fixtures` loaded."""
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
        "DJANGO_DEBUG": "1",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    for args in (["migrate", "--noinput", "-v", "0"], ["loaddata", *fixtures]):
        result = run_manage(args, env)
        assert result.returncode == 0, result.stderr
    return env


_PAGES_IN_CHILD = """
from django.db import connection
from django.test import Client
client = Client()
pages = {url: client.get(url) for url in URLS}
print(json.dumps({
    "vendor": connection.vendor,
    "pages": {url: [response.status_code, response.content.decode()] for url, response in pages.items()},
}))
"""


def pages_on_sqlite(tmp_path, fixtures, urls, setup=""):
    """{url: [status, html]} of each of `urls` as `make run` serves it by default: on a new
    SQLite database in `tmp_path` with `fixtures` loaded and the code `setup` run first."""
    body = f"{setup}\nURLS = {list(urls)!r}\n{_PAGES_IN_CHILD}"
    answer = run_django_json(body, sqlite_site_env(tmp_path, *fixtures))
    assert answer["vendor"] == "sqlite"
    return answer["pages"]


def with_todays_noon(script):
    """`script`, with `noon` set to today's noon (UTC), worked out once: run in the test's process
    and in a child, each working it out for itself could be either side of midnight."""
    from django.utils import timezone

    noon = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    return f"from datetime import datetime\nnoon = datetime.fromisoformat({noon.isoformat()!r})\n{script}"


def child_database_url():
    """A DATABASE_URL for the database this test session uses, for child processes."""
    from django.db import connection

    return "postgres://{USER}:{PASSWORD}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict)


def env_on_the_test_database(**extra):
    """The environment of a child on this session's test database, DEBUG on (no secret key
    needed), with the project's settings, plus `extra` variables."""
    return {"DJANGO_SETTINGS_MODULE": "baltmet.settings", "DJANGO_DEBUG": "1", "DATABASE_URL": child_database_url(), **extra}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(tmp_path, **extra):
    """The environment of a production-like child (DEBUG off, plain http) on this session's test
    database, with the static files collected into `tmp_path`, plus `extra` variables."""
    env = {
        "DJANGO_SECRET_KEY": STRONG_KEY,
        "DJANGO_HTTPS": "0",
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        # The test database pytest-django made, so the server sees migrated tables.
        "DATABASE_URL": child_database_url(),
        **extra,
    }
    collected = run_manage(["collectstatic", "--noinput", "-v", "0"], env)
    assert collected.returncode == 0, collected.stderr
    return env


def wait_until_answering(process, base, name, tries=150):
    """Return once /healthz at `base` answers 200; where `process` (its output piped) ends first
    or `tries` tenths of a second pass, raise RuntimeError with what it wrote, stopping it first:
    its output ends only when it does."""
    for _ in range(tries):
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{name} did not start: " + process.stdout.read().decode())


@contextmanager
def gunicorn(env, workers=1, app="baltmet.wsgi:application", output=None):
    """gunicorn serving `app` (the project's) with `env` on a free port; yields its base URL once
    /healthz answers. What it wrote is appended to the list `output`, if given, once it has stopped."""
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), app,
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--no-control-socket"],
        cwd=PROJECT_DIR,
        env=child_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(process, base, "gunicorn")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        if output is not None:
            output.append(process.stdout.read().decode())
