"""`make serve` in miniature: gunicorn with DEBUG off, static files collected and served by whitenoise."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.settings_loader import STRONG_KEY
from tests.subprocess_env import PROJECT_DIR, run_manage, child_database_url

GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def production_server(db, tmp_path):
    env = {
        "DJANGO_SECRET_KEY": STRONG_KEY,
        "DJANGO_HTTPS": "0",
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        # The test database pytest-django made, so the server sees migrated tables.
        "DATABASE_URL": child_database_url(),
    }
    collected = run_manage(["collectstatic", "--noinput", "-v", "0"], env)
    assert collected.returncode == 0, collected.stderr
    port = _free_port()
    process = subprocess.Popen(
        [str(GUNICORN), "baltmet.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=PROJECT_DIR,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if _get(base + "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            process.kill()
            pytest.fail("gunicorn did not start: " + process.stdout.read().decode())
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(tmp_path / "static", ignore_errors=True)


def test_gunicorn_serves_pages_and_hashed_static_files_with_debug_off(production_server):
    status, _, body = _get(production_server + "/")
    assert status == 200
    stylesheet = re.search(r'href="(/static/baltmet/site\.[0-9a-f]{12}\.css)"', body.decode())
    assert stylesheet, "the page links the collected, content-hashed stylesheet"

    status, headers, css = _get(production_server + stylesheet.group(1))
    assert status == 200
    assert b".skip-link" in css
    assert "immutable" in headers["Cache-Control"]


def test_gunicorn_answers_unknown_urls_with_the_site_404_page(production_server):
    status, _, body = _get(production_server + "/no-such-page/")
    assert status == 404
    assert b"Page not found" in body
    assert b"Traceback" not in body
