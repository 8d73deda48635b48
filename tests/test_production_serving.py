"""`make serve` in miniature: gunicorn with DEBUG off, static files collected and served by whitenoise."""

import json
import re
import shutil
import subprocess
import urllib.error
import urllib.request

import pytest

from tests.subprocess_env import (
    PROJECT_DIR,
    child_env,
    env_on_the_test_database,
    free_port,
    gunicorn,
    production_env,
    run_python,
    wait_until_answering,
)


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


def _head(url):
    request = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def test_gunicorn_answers_head_with_the_gets_headers_and_logs_no_dropped_body(db, tmp_path):
    # Django sends a HEAD's body for the server to drop: gunicorn did, with a warning for each
    # (review r30b), a load balancer probing /healthz with HEAD filling the log.
    output = []
    try:
        with gunicorn(production_env(tmp_path), output=output) as base:
            for path in ("/healthz", "/news/", "/news/feed/", "/no-such-page/"):
                status, _, body = _get(base + path)
                head_status, head_headers = _head(base + path)
                assert head_status == status and int(head_headers["Content-Length"]) == len(body)
    finally:
        shutil.rmtree(tmp_path / "static", ignore_errors=True)
    assert "no-body response" not in output[0]
    assert "[INFO] Booting worker" in output[0]  # the server's output was read


def test_make_serve_leaves_no_control_socket_for_another_server_to_take_over(db, tmp_path):
    # gunicorn's default control socket is one path in the user's home for every server on the
    # machine: a second took it over, and stopping either removed it (review r30b).
    # Its place is $XDG_RUNTIME_DIR/gunicorn.ctl where that is set (a desktop session), else
    # ~/.gunicorn/gunicorn.ctl: both are looked at (review r30d).
    runtime = tmp_path / "run"
    runtime.mkdir()
    env = {**production_env(tmp_path), "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(runtime), "PORT": str(free_port())}
    server = subprocess.Popen(
        ["scripts/serve.sh"], cwd=PROJECT_DIR, env=child_env(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_until_answering(server, f"http://127.0.0.1:{env['PORT']}", "serve.sh", tries=1200)
        assert not (tmp_path / ".gunicorn").exists() and not list(runtime.iterdir())
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(tmp_path / "static", ignore_errors=True)


_ASGI_HEAD_AND_GET = """
import asyncio, json
import baltmet.asgi

async def answer(method):
    sent, request = [], [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():  # the request, then nothing: the client stays connected
        if request:
            return request.pop()
        await asyncio.Event().wait()

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": "/healthz", "raw_path": b"/healthz", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"localhost")], "server": ("localhost", 80), "client": ("127.0.0.1", 5000)}
    await baltmet.asgi.application(scope, receive, send)
    [start] = [m for m in sent if m["type"] == "http.response.start"]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return [start["status"], headers.get("content-length"), len(body)]

print(json.dumps([asyncio.run(answer("GET")), asyncio.run(answer("HEAD"))]))
"""


def test_the_asgi_application_answers_head_with_the_gets_headers_and_no_body(db, tmp_path):
    # gunicorn's ASGI worker warns of a HEAD's body as its WSGI one does (review r30d).
    child = run_python(_ASGI_HEAD_AND_GET, env_on_the_test_database(MEDIA_ROOT=str(tmp_path)))
    assert child.returncode == 0, child.stderr
    get, head = json.loads(child.stdout.splitlines()[-1])
    assert get[0] == head[0] == 200 and get[2] > 0
    assert head[1] == get[1] and head[2] == 0  # Content-Length, where Django gives one, the GET's
