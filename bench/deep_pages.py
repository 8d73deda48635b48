#!/usr/bin/env python
"""
Why a page of a list from baltmet.prepared.DEEP_OFFSET on is read through its keys.

Makes a scratch PostgreSQL database with 100 000 demo articles (generate_demo_content, the
seed fixtures) and times pages of the news list and of the largest topic's list at several
depths (what `/news/?page=N` and `/news/topic/<slug>/?page=N` read: ten articles), two ways:

- **as the site reads them**: LIMIT/OFFSET on the whole rows before DEEP_OFFSET, the page's
  keys walked first from there;
- **LIMIT/OFFSET only**: the whole rows read up to the page, at every depth;

and the first way again with PostgreSQL's parallel workers off for the session
(`max_parallel_workers_per_gather = 0`), to show what they cost or save.

Both ways must give the same articles; the script stops if they do not. Median of --runs runs
each, after a warm-up, from Python (the round trip and the model instances included). The
scratch database is dropped afterwards (--keep keeps it, and a later --keep run with as many
articles reuses it).

    .venv/bin/python bench/deep_pages.py [--articles 100000] [--runs 15] [--keep]

DATABASE_URL (default postgres://baltmet:baltmet@127.0.0.1:5432/baltmet, as for the tests)
names the server and a role that may create databases; run `scripts/ensure-postgres.sh` first.
"""

import sys

from scratch_db import PROJECT, main_on_demo_database, median_ms, run_stopping_cleanly, server_and_cpus

sys.path.insert(0, str(PROJECT))

SCRATCH_DB = "baltmet_bench_deep_pages"
PAGE_SIZE = 10  # the news lists' (news.views)
DEPTHS = (0, 500, 1000, 2000, 2990, 3000, 5000)  # rows before the page, and the last page


def main():
    main_on_demo_database(__doc__, SCRATCH_DB, run, runs=15, runs_help="timed runs of each page and way")


def run(options):
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count

    from baltmet import prepared
    from news.models import Article, Topic

    topic = Topic.objects.annotate(n=Count("articles")).order_by("-n").first()
    lists = [("news list", Article.objects.published_pages()), (f"topic “{topic.name}”", Article.objects.published_pages(topic.pk))]
    site_deep_offset = prepared.DEEP_OFFSET

    def timed(pages, offset, deep_offset, parallel=True):
        prepared.DEEP_OFFSET = deep_offset
        with connection.cursor() as cursor:
            cursor.execute("SET max_parallel_workers_per_gather = " + ("DEFAULT" if parallel else "0"))
        try:
            articles = pages[offset : offset + PAGE_SIZE]
            ms = median_ms(lambda: pages[offset : offset + PAGE_SIZE], options.runs)
            return [article.pk for article in articles], ms
        finally:
            prepared.DEEP_OFFSET = site_deep_offset
            with connection.cursor() as cursor:
                cursor.execute("SET max_parallel_workers_per_gather = DEFAULT")

    results = []
    for label, pages in lists:
        total = pages.count()
        last = (total - 1) // PAGE_SIZE * PAGE_SIZE
        for offset in sorted({depth for depth in DEPTHS if depth < total} | {last}):
            as_site, site_ms = timed(pages, offset, site_deep_offset)
            as_offset, offset_ms = timed(pages, offset, float("inf"))
            as_serial, serial_ms = timed(pages, offset, site_deep_offset, parallel=False)
            if not as_site == as_offset == as_serial:
                sys.exit(f"{label}, row {offset}: the ways read different articles: {as_site} {as_offset} {as_serial}")
            results.append((label, total, offset, site_ms, offset_ms, serial_ms))

    print(f"{Article.objects.count()} articles; {server_and_cpus()}; DEEP_OFFSET "
          f"{site_deep_offset}; median of {options.runs} runs (ms, from Python, with the round trip)")
    print()
    print(
        "| list | articles | page (rows before it) | as the site reads it | LIMIT/OFFSET only "
        "| as the site, no parallel workers |"
    )
    print("|---|---:|---|---:|---:|---:|")
    for label, total, offset, site_ms, offset_ms, serial_ms in results:
        page = f"{offset // PAGE_SIZE + 1} ({offset})"
        print(f"| {label} | {total} | {page} | {site_ms:.2f} | {offset_ms:.2f} | {serial_ms:.2f} |")


if __name__ == "__main__":
    run_stopping_cleanly(main)
