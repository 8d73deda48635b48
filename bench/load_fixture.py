#!/usr/bin/env python
"""
How long does `manage.py loaddata` take for a large fixture, with validation and sanitising?

Generates a fixture of N articles (default 10 000) with topics, regions and an event, loads
it with the project's own loaddata into a scratch PostgreSQL database made for the run, and
reports the wall-clock time. Nothing of an existing database is touched.

    .venv/bin/python bench/load_fixture.py [--articles 10000]

DATABASE_URL (default postgres://baltmet:baltmet@127.0.0.1:5432/baltmet, as for the tests)
names the server and a role that may create databases; run `scripts/ensure-postgres.sh` first.
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import psycopg2

from scratch_db import (
    DEFAULT_URL,
    create_database,
    drop_database,
    manage,
    run_stopping_cleanly,
    setup_env,
    with_database,
)

SCRATCH_DB = "baltmet_bench_loaddata"


def make_fixture(path, articles):
    objects = [
        {"model": "regions.region", "fields": {"name": f"Region {n}", "slug": f"region-{n}", "country": "Benchland"}}
        for n in range(10)
    ]
    objects += [{"model": "news.topic", "fields": {"name": f"Topic {n}", "slug": f"topic-{n}"}} for n in range(8)]
    objects.append(
        {
            "model": "news.event",
            "fields": {
                "title": "Bench conference",
                "slug": "bench-conference",
                "starts": "2030-01-01T09:00:00Z",
                "ends": "2030-01-02T17:00:00Z",
                "status": "published",
            },
        }
    )
    for n in range(articles):
        objects.append(
            {
                "model": "news.article",
                "fields": {
                    "title": f"Cluster news number {n}",
                    "slug": f"cluster-news-{n}",
                    "lead": "Partners from the Baltic Sea Region met to plan joint innovation projects.",
                    "body": f"<h2>Item {n}</h2><p>Cluster <strong>development</strong> across the "
                    f"<a href='https://example.org/{n}'>network</a>.</p><ul><li>one</li><li>two</li></ul>",
                    "status": "published" if n % 10 else "draft",
                    "publish_at": f"20{10 + n % 15:02d}-{1 + n % 12:02d}-{1 + n % 28:02d}T12:00:00Z",
                    "topics": [[f"topic-{n % 8}"], [f"topic-{(n + 3) % 8}"]],
                    "regions": [[f"region-{n % 10}"]],
                    "event": ["bench-conference"] if n % 50 == 0 else None,
                },
            }
        )
    path.write_text(json.dumps(objects))
    return len(objects)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=10_000)
    options = parser.parse_args()

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    scratch_url = with_database(url, SCRATCH_DB)
    env = setup_env({**os.environ, "DATABASE_URL": scratch_url, "DJANGO_DEBUG": "1"})

    create_database(url, SCRATCH_DB)
    try:
        manage(["migrate", "--noinput", "-v", "0"], env, capture=True)
        with tempfile.TemporaryDirectory() as folder:
            fixture = Path(folder) / "bench_articles.json"
            count = make_fixture(fixture, options.articles)
            size_mb = fixture.stat().st_size / 1e6
            started = time.perf_counter()
            result = manage(["loaddata", str(fixture)], env, capture=True)
            elapsed = time.perf_counter() - started
        check = psycopg2.connect(scratch_url)
        try:
            cursor = check.cursor()
            cursor.execute("SELECT count(*) FROM news_article")
            loaded = cursor.fetchone()[0]
        finally:
            check.close()
    finally:
        drop_database(url, SCRATCH_DB)

    assert loaded == options.articles, f"expected {options.articles} articles, found {loaded}"
    print(result.stdout.strip())
    print(f"objects in fixture: {count} ({size_mb:.1f} MB of JSON), articles loaded: {loaded}")
    print(f"loaddata wall time: {elapsed:.1f} s ({options.articles / elapsed:.0f} articles/s)")


if __name__ == "__main__":
    run_stopping_cleanly(main)
