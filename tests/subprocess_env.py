"""Run project code in a child process with its own environment (settings load once per process),
or serve it with gunicorn."""

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


def run_python(code, env, timeout=60):
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    child_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, env=child_env, capture_output=True, text=True, timeout=timeout
    )


def run_manage(args, env, timeout=120):
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    child_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_DIR, env=child_env, capture_output=True, text=True, timeout=timeout
    )


def child_database_url():
    """A DATABASE_URL for the database this test session uses, for child processes."""
    from django.db import connection

    return "postgres://{USER}:{PASSWORD}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict)


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


@contextmanager
def gunicorn(env, workers=1):
    """gunicorn serving the project with `env` on a free port; yields its base URL once /healthz answers."""
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "baltmet.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
        cwd=PROJECT_DIR,
        env={**{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_URL"))}, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            process.kill()
            raise RuntimeError("gunicorn did not start: " + process.stdout.read().decode())
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
