#!/usr/bin/env python
"""
What a page of the sitemap costs on a large archive: each page of /sitemap-news.xml (10 000
addresses, baltmet.sitemaps.SITEMAP_PAGE_SIZE) and /sitemap-events.xml, made two ways:

- **as the site makes them**: the addresses written by {% sitemap_urls %}
  (baltmet.templatetags.sitemap_xml), each article's address from the text around its slug,
  read once for the page (baltmet.reversing.slug_urls);
- **as Django's own sitemap does**: its sitemap.xml template, and `get_absolute_url()` for
  each address.

Both must give the same bytes; the script stops if they do not. Makes a scratch PostgreSQL
database with 100 000 demo articles (generate_demo_content, the seed fixtures) and times
Django's sitemap view in-process (the queries, the model instances, the rendering; not the
page cache, which is off), median of --runs runs each after a warm-up. The scratch database is
dropped afterwards (--keep keeps it, and a later --keep run with as many articles reuses it).

    .venv/bin/python bench/sitemaps.py [--articles 100000] [--runs 5] [--keep]

DATABASE_URL (default postgres://baltmet:baltmet@127.0.0.1:5432/baltmet, as for the tests)
names the server and a role that may create databases; run `scripts/ensure-postgres.sh` first.
"""

import os
import sys

from scratch_db import PROJECT, main_on_demo_database, median_ms, run_stopping_cleanly, server_and_cpus

sys.path.insert(0, str(PROJECT))

SCRATCH_DB = "baltmet_bench_sitemaps"
SECTIONS = ("news", "events")


def main():
    main_on_demo_database(__doc__, SCRATCH_DB, run, runs=5, runs_help="timed runs of each page and way")


def run(options):
    os.environ["DJANGO_PAGE_CACHE_SECONDS"] = "0"
    import django

    django.setup()
    from django.contrib.sitemaps import Sitemap
    from django.contrib.sitemaps import views as sitemap_views
    from django.test import RequestFactory

    from baltmet.sitemaps import SITEMAPS, SITEMAP_PAGE_SIZE
    from news.models import Article

    # Django's own: every address from get_absolute_url(), written by its template.
    djangos_sitemaps = {
        section: type(f"Djangos{SITEMAPS[section].__name__}", (SITEMAPS[section],), {"location": Sitemap.location})
        for section in SECTIONS
    }

    def page(section, number, sitemaps, template_name):
        request = RequestFactory().get(f"/sitemap-{section}.xml", {"p": number}, HTTP_HOST="localhost")
        return lambda: sitemap_views.sitemap(request, sitemaps, section=section, template_name=template_name).render().content

    rows = []
    for section in SECTIONS:
        pages = SITEMAPS[section]().paginator.num_pages
        for number in range(1, pages + 1):
            site = page(section, number, SITEMAPS, "sitemap_section.xml")
            djangos = page(section, number, djangos_sitemaps, "sitemap.xml")
            content = site()
            if content != djangos():
                sys.exit(f"/sitemap-{section}.xml?p={number}: the two ways wrote different sitemaps")
            rows.append((section, number, content.count(b"<url>"), len(content), median_ms(site, options.runs),
                         median_ms(djangos, options.runs)))

    print(f"{Article.objects.count()} articles; {server_and_cpus()}; {SITEMAP_PAGE_SIZE} addresses a page at most; "
          f"median of {options.runs} runs (ms, in-process, the page made and rendered)")
    print()
    print("| page | addresses | bytes | as the site makes it | as Django's own sitemap does |")
    print("|---|---:|---:|---:|---:|")
    for section, number, addresses, size, site_ms, djangos_ms in rows:
        print(f"| /sitemap-{section}.xml?p={number} | {addresses} | {size} | {site_ms:.0f} | {djangos_ms:.0f} |")


if __name__ == "__main__":
    run_stopping_cleanly(main)
