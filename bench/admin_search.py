#!/usr/bin/env python
"""
What the admin's list of articles costs an editor on a large archive, and its search box two
ways: through the full-text index (baltmet.admin_search, what the admin does) and as Django's
own admin search does it (each word as a substring of the title, slug, lead and text).

Makes a scratch PostgreSQL database with 100 000 demo articles (generate_demo_content, the
seed fixtures), signs a superuser in with Django's test client, and times whole changelist
requests (every query the page runs, its rendering, in-process): the list alone, then
searches for a word in most of the demo articles, a rarer one, two words, a word no article
has, word starts, twelve words and a slug. Median of --runs runs each, after a warm-up. The
scratch database is dropped afterwards (--keep keeps it, and a later --keep run with as many
articles reuses it).

    .venv/bin/python bench/admin_search.py [--articles 100000] [--runs 5] [--keep]

DATABASE_URL (default postgres://baltmet:baltmet@127.0.0.1:5432/baltmet, as for the tests)
names the server and a role that may create databases; run `scripts/ensure-postgres.sh` first.
"""

import sys
from contextlib import contextmanager

from scratch_db import PROJECT, admin_client, main_on_demo_database, median_ms, run_stopping_cleanly, server_and_cpus

sys.path.insert(0, str(PROJECT))

SCRATCH_DB = "baltmet_bench_admin_search"
CHANGELIST = "/admin/news/article/"


def main():
    main_on_demo_database(__doc__, SCRATCH_DB, run, runs=5, runs_help="timed runs of each request and way")


@contextmanager
def djangos_own_search():
    """The article admin searching as Django's ModelAdmin does, for comparison."""
    from django.contrib import admin

    from news.admin import ArticleAdmin

    ArticleAdmin.get_search_results = admin.ModelAdmin.get_search_results
    try:
        yield
    finally:
        del ArticleAdmin.get_search_results


def run(options):
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from news.models import Article

    _, client = admin_client("bench-admin-search")
    # The 501st article's slug, or the last one's on a smaller database (--articles 300).
    *_, slug = Article.objects.order_by("pk").values_list("slug", flat=True)[:501]
    cases = [
        ("the list, newest first", {}),
        ("a word in most demo articles: cluster", {"q": "cluster"}),
        ("a rarer word: tallinn", {"q": "tallinn"}),
        ("two words: cluster network", {"q": "cluster network"}),
        ("a word no article has: zzzqqq", {"q": "zzzqqq"}),
        ("a three-letter prefix: con", {"q": "con"}),
        ("a start past its stem: innovat", {"q": "innovat"}),
        ("twelve common words", {"q": "companies universities public sector network cluster work part project baltic small medium"}),
        ("the same, joined by commas", {"q": "companies,universities,public,sector,network,cluster,work,part,project,baltic,small,medium"}),
        ("a slug", {"q": slug}),
    ]

    def request(params):
        def get():
            response = client.get(CHANGELIST, params)
            assert response.status_code == 200, response.status_code
            return response

        return get

    def found(params):
        """How many articles the admin's search finds (all of them for the list)."""
        from django.contrib import admin

        queryset = Article.objects.all()
        if "q" in params:
            queryset, _ = admin.site._registry[Article].get_search_results(None, queryset, params["q"])
        return queryset.count()

    def measure():
        rows = []
        for label, params in cases:
            get = request(params)
            with CaptureQueriesContext(connection) as queries:
                get()
            rows.append((label, found(params), len(queries), median_ms(get, options.runs)))
        return rows

    indexed = measure()
    with djangos_own_search():
        own = measure()

    print(f"{Article.objects.count()} articles; {server_and_cpus()}; "
          f"median of {options.runs} requests (ms, in-process, the page rendered)")
    print()
    print("| request | found | queries | through the index | Django's own search |")
    print("|---|---:|---:|---:|---:|")
    for (label, found, count, ms), (_, own_found, _, own_ms) in zip(indexed, own):
        both = f"{found}" if found == own_found else f"{found} ({own_found} as substrings)"
        print(f"| {label} | {both} | {count} | {ms:.0f} | {own_ms:.0f} |")


if __name__ == "__main__":
    run_stopping_cleanly(main)
