"""`make serve` in miniature: gunicorn with DEBUG off, static files collected and served by whitenoise."""

import re
import shutil
import urllib.error
import urllib.request

import pytest

from tests.subprocess_env import gunicorn, production_env, run_python


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def production_server(db, tmp_path):
    try:
        with gunicorn(production_env(tmp_path)) as base:
            yield base
    finally:
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


def test_the_served_application_leaves_what_loading_made_out_of_garbage_collection(tmp_path):
    # Full collections would otherwise walk every module and model on each run (slow requests).
    env = {"DJANGO_DEBUG": "1", "MEDIA_ROOT": str(tmp_path)}
    code = "import gc, baltmet.wsgi; print(gc.get_freeze_count())"
    child = run_python(code, env)
    assert child.returncode == 0, child.stderr
    assert int(child.stdout) > 10_000
