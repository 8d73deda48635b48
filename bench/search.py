#!/usr/bin/env python
"""
How fast is site search over a large archive?

Makes a scratch PostgreSQL database for the run, migrates it, fills it with N articles
(default 100 000) and the demo events and regions of `manage.py generate_demo_content`
(which also computes their search vectors), compacts it (VACUUM FULL: see the comment in run()), and then
renders the search results page (baltmet.views.SearchView: the ranked page with the number
of matches, the objects and their headlines, the template) for a set of varied queries,
several times each after one warm-up. Reports the median and 95th percentile time per
query, overall and per query. The scratch database is dropped at the end; nothing else is
touched.

    .venv/bin/python bench/search.py [--articles 100000] [--runs 5] [--keep]

DATABASE_URL (default postgres://baltmet:baltmet@127.0.0.1:5432/baltmet, as for the tests)
names the server and a role that may create databases; run `scripts/ensure-postgres.sh` first.
"""

import argparse
import os
import platform
import statistics
import sys
import time


from scratch_db import DEFAULT_URL, PROJECT, create_database, run_django_on, run_stopping_cleanly

# The project itself, for Django.
sys.path.insert(0, str(PROJECT))

SCRATCH_DB = "baltmet_bench_search"

# Varied on purpose, for the words of generate_demo_content: a word in most articles and its
# plural, common and rare words, phrases, exclusions, or, names with diacritics, other scripts,
# words found nowhere, hostile input, a query that only leaves a word out, long queries of
# common words, and deep pages of common words.
QUERIES = [
    ("cluster", 1),
    ("clusters", 1),
    ("innovation", 1),
    ("green hydrogen", 1),
    ('"green hydrogen"', 1),
    ("hydrogen -Berlin", 1),
    ("maritime or logistics", 1),
    ("Riga biotechnology", 1),
    ('"cyber security" Vilnius', 1),
    ("urban design Tallinn", 1),
    ("e-health", 1),
    ("Gdańsk", 1),
    ("matchmaking day", 1),
    ("hackathon", 1),
    ("кластер", 1),
    ("zeppelin", 1),
    ("' OR 1=1 --", 1),
    ('"unbalanced -', 1),
    ("-cluster", 1),  # nothing to look for: finds nothing, rather than every article without it
    (" ".join(["co"] * 66), 1),  # a word in most articles, as often as 200 characters allow: cut to 12
    ("cluster " + " ".join(f"-x{n}" for n in range(60)), 1),  # a common word and many left out
    ("innovation", 50),
    ("cluster", 500),
]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each query (after one warm-up)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    options = parser.parse_args()

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    create_database(url, SCRATCH_DB)
    run_django_on(url, SCRATCH_DB, lambda: run(options), keep=options.keep, DJANGO_ALLOWED_HOSTS="testserver")


def run(options):
    import django

    django.setup()
    from django.contrib.auth.models import AnonymousUser
    from django.core.management import call_command
    from django.db import connection
    from django.http import Http404
    from django.test import RequestFactory

    from baltmet.views import SearchView
    from news.models import Article

    call_command("migrate", verbosity=0, interactive=False)
    started = time.perf_counter()
    # It computes the search vectors itself once its bulk inserts are done.
    call_command("generate_demo_content", articles=options.articles, verbosity=0)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # Writing the vectors after the bulk insert left a dead copy of every row. A live site
        # writes one row at a time and autovacuum reuses the space; compact the tables so that
        # the figures are for that steady state, not for a table twice its size.
        cursor.execute("VACUUM (FULL, ANALYZE)")
    vacuumed = time.perf_counter() - started
    total = Article.objects.count()
    published = Article.objects.published().count()

    factory = RequestFactory()

    def render(query, page):
        params = {"q": query} if page == 1 else {"q": query, "page": page}
        request = factory.get("/search/", params)
        request.user = AnonymousUser()
        try:
            response = SearchView.as_view()(request)
        except Http404:
            return None
        response.render()
        return response

    timings = {}
    for query, page in QUERIES:
        response = render(query, page)  # warm-up: caches, plans
        hits = "404" if response is None else response.context_data["paginator"].count
        timings[(query, page)] = {"hits": hits, "times": []}
    for _ in range(options.runs):
        for query, page in QUERIES:
            started = time.perf_counter()
            render(query, page)
            timings[(query, page)]["times"].append((time.perf_counter() - started) * 1000)

    # A page past the last (fewer matches than the page needs, on a small archive) is a quick
    # 404: shown in the table, left out of the summary.
    every = [t for entry in timings.values() if entry["hits"] != "404" for t in entry["times"]]
    missing = [f"{query!r} page {page}" for (query, page), entry in timings.items() if entry["hits"] == "404"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version'), current_setting('shared_buffers')")
        version, shared_buffers = cursor.fetchone()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; Python {platform.python_version()}; "
          f"PostgreSQL {version}, shared_buffers {shared_buffers}")
    print(f"content: {total} articles ({published} published) from generate_demo_content, with search vectors, "
          f"in {generated:.0f} s; VACUUM (FULL, ANALYZE) {vacuumed:.0f} s")
    print(f"{len(QUERIES)} queries x {options.runs} runs = {len(every)} timed results pages"
          + (f" (left out, 404: {', '.join(missing)})" if missing else ""))
    if every:
        print(f"median {statistics.median(every):.1f} ms, p95 {percentile(every, 0.95):.1f} ms, "
              f"max {max(every):.1f} ms")
    print()
    print("| query | page | matches | median ms | p95 ms |")
    print("|---|---:|---:|---:|---:|")
    for (query, page), entry in timings.items():
        shown = query if len(query) <= 40 else f"{query[:36]} … ({len(query.split())} words)"
        print(f"| `{shown}` | {page} | {entry['hits']} | {statistics.median(entry['times']):.1f} | "
              f"{percentile(entry['times'], 0.95):.1f} |")


if __name__ == "__main__":
    run_stopping_cleanly(main)
