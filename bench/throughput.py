#!/usr/bin/env python
"""
Pages per second for the key public pages, served the production way (gunicorn, DEBUG off),
from a scratch PostgreSQL database filled by `manage.py generate_demo_content`: once with the
page cache off (every request renders: "cold") and once with it on ("cached").

    .venv/bin/python bench/throughput.py [--articles 100000] [--events 5000] [--seconds 3]
        [--concurrency 4] [--workers 2] [--keep]

DATABASE_URL (default postgres://baltmet:baltmet@127.0.0.1:5432/baltmet) names the server and
a role that may create databases; the scratch database is made for the run and dropped after
it (--keep leaves it, and a later run with --keep and the same sizes reuses it). With
REDIS_URL set, the cached run uses that Redis, as several app servers would; otherwise each
gunicorn worker has its own local-memory cache. Client and server share the machine, so the
figures are for comparing, not for capacity planning.
"""

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scratch_db import (  # noqa: E402 (after the path)
    DEFAULT_URL,
    PROJECT,
    answering_or_stopped,
    cleaning_up,
    demo_database,
    drop_database,
    manage,
    run_stopping_cleanly,
    setup_env,
    with_database,
)

SCRATCH_DB = "baltmet_bench_throughput"
GUNICORN = Path(sys.executable).with_name("gunicorn")


def pages(url):
    """The pages to measure, with real slugs from the scratch database."""
    connection = psycopg2.connect(url)
    try:
        cursor = connection.cursor()

        def one(sql):
            cursor.execute(sql)
            return cursor.fetchone()[0]

        article = one(
            "SELECT slug FROM news_article WHERE status = 'published' AND publish_at <= now() "
            "AND event_id IS NOT NULL ORDER BY publish_at DESC LIMIT 1"
        )
        topic = one("SELECT slug FROM news_topic ORDER BY id LIMIT 1")
        event = one("SELECT slug FROM news_event WHERE status = 'published' AND publish_at <= now() ORDER BY starts DESC LIMIT 1")
        region = one("SELECT slug FROM regions_region ORDER BY id LIMIT 1")
        published = one("SELECT count(*) FROM news_article WHERE status = 'published' AND publish_at <= now()")
    finally:
        connection.close()
    return [
        "/",
        "/news/",
        f"/news/?page={max(1, min(500, published // 20))}",  # deep in the archive
        f"/news/{article}/",
        f"/news/topic/{topic}/",
        "/events/",
        f"/events/{event}/",
        "/regions/",
        f"/regions/{region}/",
        "/regions/compare/",
        "/search/?q=clean+energy",
        "/news/feed/",
        "/events/calendar.ics",
        "/sitemap.xml",
    ]


def fetch(url):
    """(status, seconds, what the page cache says: X-Page-Cache)."""
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
        status = response.status
    return status, time.perf_counter() - started, response.headers.get("X-Page-Cache")


def measure(base, path, seconds, concurrency, workers, expected):
    """(requests per second, median seconds, 95th percentile seconds) over `seconds`. The page
    cache must have said `expected` ("bypass" cold; cached, "hit" to all but each worker's
    first, as each gunicorn worker may have a cache of its own), else it is not what is said
    to be measured."""
    fetch(base + path)  # once first: a cached run measures hits
    durations, errors, said = [], [], []
    deadline = time.perf_counter() + seconds

    def worker():
        while time.perf_counter() < deadline:
            try:
                status, duration, header = fetch(base + path)
            except OSError as error:
                errors.append(error)
                continue
            if status != 200:
                errors.append(status)
            durations.append(duration)
            said.append(header)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{path}: {len(errors)} failed requests, e.g. {errors[0]}")
    other = [header for header in said if header != expected]
    if len(other) > (0 if expected == "bypass" else workers):
        raise RuntimeError(f"{path}: X-Page-Cache {other[0]!r} in {len(other)} of {len(said)} answers, expected {expected!r}")
    durations.sort()
    return len(durations) / elapsed, statistics.median(durations), durations[int(len(durations) * 0.95) - 1]


def serve(env, workers):
    """gunicorn with `env` on a loopback port of its own; (process, address) once it answers.
    The socket is bound here and handed to gunicorn (fd://), so that nothing else can be
    answering on that port. Stopped if it does not start (or the run is interrupted meanwhile),
    with what it said."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    with tempfile.TemporaryFile() as log:
        with listener:  # closed here once gunicorn has it: a gunicorn that exits leaves no listener
            process = subprocess.Popen(
                [str(GUNICORN), "baltmet.wsgi:application", "--bind", f"fd://{listener.fileno()}",
                 "--workers", str(workers), "--no-control-socket"],
                cwd=PROJECT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
                pass_fds=[listener.fileno()],
            )
        answering_or_stopped(process, base + "/healthz", 200, log, kill, "gunicorn")
        return process, base


@cleaning_up()
def kill(process):
    if process.poll() is None:
        process.kill()
        process.wait()


def forget_keys(redis_url, prefix):
    """Delete what the cached run left in the Redis of REDIS_URL: its keys, all under `prefix`
    (pages expire, but the content version and Redis's run id do not)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--seconds", type=float, default=3.0, help="per page and mode")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the scratch database")
    options = parser.parse_args()

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    scratch_url = with_database(url, SCRATCH_DB)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "DATABASE_URL"}
    # With REDIS_URL the cached run uses that Redis, under keys of its own.
    key_prefix = {"DJANGO_CACHE_KEY_PREFIX": f"bench-{secrets.token_hex(8)}"} if os.environ.get("REDIS_URL") else {}
    env = {**base_env, "DATABASE_URL": scratch_url, "DJANGO_DEBUG": "1"}

    generated = demo_database(url, SCRATCH_DB, env, articles=options.articles, events=options.events, keep=options.keep)
    if generated is not None:
        print(f"generate_demo_content: {generated:.0f} s")
    try:
        with tempfile.TemporaryDirectory() as folder:
            serve_env = {
                **base_env,
                "DATABASE_URL": scratch_url,
                "DJANGO_DEBUG": "0",
                "DJANGO_HTTPS": "0",
                "DJANGO_SECRET_KEY": "bench-" + "q7Zr2Lp9Xw4Tb6Nc1Vm8" * 3,
                "DJANGO_LOG_LEVEL": "WARNING",
                "STATIC_ROOT": folder,
                **key_prefix,
            }
            manage(["collectstatic", "--noinput", "-v", "0"], setup_env(serve_env))
            paths = pages(scratch_url)
            results = {}
            for mode, seconds_cached, expected in (("cold", "0", "bypass"), ("cached", "3600", "hit")):
                process, base = serve({**serve_env, "DJANGO_PAGE_CACHE_SECONDS": seconds_cached}, options.workers)
                try:
                    for path in paths:
                        results[(mode, path)] = measure(
                            base, path, options.seconds, options.concurrency, options.workers, expected
                        )
                finally:
                    with cleaning_up():
                        process.terminate()
                        process.wait(timeout=20)
    finally:
        with cleaning_up():  # both, whatever signal comes meanwhile
            if not options.keep:
                drop_database(url, SCRATCH_DB)
            if key_prefix:
                forget_keys(os.environ["REDIS_URL"], key_prefix["DJANGO_CACHE_KEY_PREFIX"])

    cache = "Redis (REDIS_URL)" if os.environ.get("REDIS_URL") else "local memory per worker"
    print(
        f"\n{options.articles} articles, {options.events} events; gunicorn {options.workers} sync workers, "
        f"{options.concurrency} concurrent clients, {options.seconds:g} s per page; page cache: {cache}\n"
    )
    print("| page | cold: pages/s | cold: median ms | cached: pages/s | cached: median ms |")
    print("|---|---:|---:|---:|---:|")
    for path in paths:
        cold, cached = results[("cold", path)], results[("cached", path)]
        shown = path if len(path) <= 40 else path[:37] + "..."
        print(f"| `{shown}` | {cold[0]:.0f} | {cold[1] * 1000:.1f} | {cached[0]:.0f} | {cached[1] * 1000:.1f} |")


if __name__ == "__main__":
    run_stopping_cleanly(main)
