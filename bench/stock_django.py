#!/usr/bin/env python
"""
The site's uncached pages beside a stock Django project's (bench/stock_django/: what
`startproject` and `startapp` make, with views written as the tutorial writes them), each
against its own trivial view, with wrk, in the same minutes on the same machine and database.

Issue 8.6 asks of an uncached page 40% of a trivial view's throughput. This shows what Django
itself makes of a page here: the stock project's trivial view through its seven stock
middleware, a page of the dozen topics (one query) and a page of the ten latest published
articles (one query; title, date, lead, links to each), beside the site's trivial view, its
minimal page (its layout around the topics) and its news list, home and region profile.

    .venv/bin/python bench/stock_django.py [--articles 10000] [--duration 10]
        [--connections 16] [--threads 2] [--rounds 2] [--keep]

Like bench/wrk.py: installs Debian's wrk when missing (as root), makes a scratch database
from DATABASE_URL (default postgres://baltmet:baltmet@127.0.0.1:5432/baltmet) with the seed
fixtures and `generate_demo_content`, drops it afterwards (--keep keeps and reuses it). The
site runs as `make serve` runs it (scripts/serve.sh) with the page cache off; the stock project
with gunicorn, as many sync workers (WEB_CONCURRENCY, else 2) and its access log on; neither
gets the caller's DJANGO_*, DATABASE_* or REDIS_URL. Every page is measured once a round, the
two servers' pages taking turns, after a 1 s warm-up, in the opposite order every other
round (the machine's speed drifts); each figure is the median of its rounds. About 1.5
minutes a round.
"""

import argparse
import os
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import wrk  # noqa: E402 (after the path)
from scratch_db import (  # noqa: E402
    DEFAULT_URL,
    PROJECT,
    demo_database,
    drop_database,
    run_stopping_cleanly,
    with_database,
)

SCRATCH_DB = "baltmet_bench_stock_django"
SITE_PORT, STOCK_PORT = 8768, 8769
STOCK_PROJECT = PROJECT / "bench" / "stock_django"
SITE, STOCK = "the site", "stock Django"
STOCK_FLOOR = "/floor/"
SITE_PAGES = ("news list", "home", "region")  # of wrk.pages()


def pages(site_pages):
    """(server, label, path) in the order measured in odd rounds; `site_pages` are wrk.pages()'s."""
    found = [label for label, _ in site_pages if label in SITE_PAGES]
    if sorted(found) != sorted(SITE_PAGES):
        raise RuntimeError(f"wrk.pages() gave {found} of the site's pages {list(SITE_PAGES)}")
    return [
        (STOCK, "trivial view", STOCK_FLOOR),
        (SITE, "trivial view", wrk.FLOOR),
        (STOCK, "topics (one query)", "/topics/"),
        (SITE, *wrk.MINIMAL_PAGE),
        (STOCK, "ten latest articles", "/news/"),
        *[(SITE, label, path) for label, path in site_pages if label in SITE_PAGES],
    ]


def ports_free():
    """Before anything is made: a server already on a port would be measured as ours."""
    for port in (SITE_PORT, STOCK_PORT):
        wrk.port_free(port)


def serve_stock(env):
    """The stock project under gunicorn on STOCK_PORT; returns the process and its address once
    it answers a page that reads the database."""
    command = [sys.executable, "-m", "gunicorn", "stock.wsgi:application", "--bind", f"127.0.0.1:{STOCK_PORT}",
               "--workers", env["WEB_CONCURRENCY"], "--no-control-socket", "--access-logfile", "-"]
    return wrk.start_server(command, STOCK_PROJECT, env, STOCK_PORT, "/topics/", 300, "the stock Django project")


def measure(wrk_command, server, url, options):
    page_cache = "bypass" if server == SITE else None  # the site's page cache off; the stock project has none
    return wrk.measure_expecting(wrk_command, url, page_cache, options, url)


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    wrk.add_measuring_options(parser, per="page and round")
    parser.add_argument("--rounds", type=positive, default=2)
    options = parser.parse_args()

    wrk_command = wrk.ensure_command("wrk", "wrk")
    ports_free()
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    scratch_url = with_database(url, SCRATCH_DB)
    # The same for both servers: the site would read DATABASE_CONN_MAX_AGE and the like, the
    # stock project not.
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_URL"))}
    demo_database(
        url, SCRATCH_DB, {**base_env, "DATABASE_URL": scratch_url, "DJANGO_DEBUG": "1"},
        articles=options.articles, events=options.events, fixtures=wrk.SEED_FIXTURES, keep=options.keep,
    )
    workers = os.environ.get("WEB_CONCURRENCY", "2")
    try:
        measured = pages(wrk.pages(scratch_url))
        figures = {(server, path): [] for server, _, path in measured}
        with tempfile.TemporaryDirectory() as static_root:
            server_env = {
                **base_env,
                "DATABASE_URL": scratch_url,
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
                "WEB_CONCURRENCY": workers,
            }
            site_env = {
                **server_env,
                "DJANGO_HTTPS": "0",
                "STATIC_ROOT": static_root,
                "PORT": str(SITE_PORT),
                "DJANGO_ROOT_URLCONF": "bench.urls",
                "DJANGO_PAGE_CACHE_SECONDS": "0",
            }
            print("serving the site (page cache off) and the stock project ...", flush=True)
            site_process, site_base = wrk.serve(site_env)
            try:
                stock_process, stock_base = serve_stock(server_env)
                try:
                    bases = {SITE: site_base, STOCK: stock_base}
                    for round_ in range(1, options.rounds + 1):
                        for server, label, path in measured if round_ % 2 else measured[::-1]:
                            rps, p50, p99 = result = measure(wrk_command, server, bases[server] + path, options)
                            figures[(server, path)].append(result)
                            print(f"  round {round_}  {server:12} {label:34} {rps:7.0f} req/s  p99 {p99:6.2f} ms", flush=True)
                finally:
                    wrk.stop(stock_process)
            finally:
                wrk.stop(site_process)
    finally:
        if not options.keep:
            drop_database(url, SCRATCH_DB)
    report(measured, figures, options, workers)


def report(measured, figures, options, workers):
    median = {key: tuple(statistics.median(run[i] for run in runs) for i in range(3)) for key, runs in figures.items()}
    floors = {STOCK: median[(STOCK, STOCK_FLOOR)][0], SITE: median[(SITE, wrk.FLOOR)][0]}
    print(
        f"\n{options.articles} articles on PostgreSQL; gunicorn, {workers} sync workers each, DEBUG off; "
        f"wrk -t{options.threads} -c{options.connections} -d{options.duration}s --latency; "
        f"median of {options.rounds} rounds; {os.cpu_count()} CPUs shared by client and servers.\n"
    )
    print("| server | page | req/s | p50 ms | p99 ms | % of its trivial view |")
    print("|---|---|---:|---:|---:|---:|")
    for server, label, path in measured:
        rps, p50, p99 = median[(server, path)]
        print(f"| {server} | {label} `{path}` | {rps:.0f} | {p50:.2f} | {p99:.2f} | {100 * rps / floors[server]:.0f}% |")


if __name__ == "__main__":
    run_stopping_cleanly(main)
