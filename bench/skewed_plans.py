#!/usr/bin/env python
"""
Why a topic's and a region's articles are planned by PostgreSQL for each one
(`@prepared(plan_each_run=True)` in news/models.py, see baltmet.prepared).

Makes a scratch PostgreSQL database with 100 000 demo articles (generate_demo_content, the
seed fixtures), adds a topic of three articles and a region of two (the oldest published:
what a new topic or a new member region looks like), and times each of those queries for the
small and the largest topic and region, two ways:

- **planned for its values**, as the site sends it: compiled once, sent as SQL;
- **one plan for every value**: the same compiled query PREPAREd, with
  plan_cache_mode=force_generic_plan, as the settings had it for a while.

Median of --runs runs each, after a warm-up. The scratch database is dropped afterwards
(--keep keeps it, and a later --keep run with as many articles reuses it).

    .venv/bin/python bench/skewed_plans.py [--articles 100000] [--runs 20] [--keep]

DATABASE_URL (default postgres://baltmet:baltmet@127.0.0.1:5432/baltmet, as for the tests)
names the server and a role that may create databases; run `scripts/ensure-postgres.sh` first.
"""

import sys

from scratch_db import PROJECT, main_on_demo_database, median_ms, run_stopping_cleanly, server_and_cpus

sys.path.insert(0, str(PROJECT))

SCRATCH_DB = "baltmet_bench_plans"
PAGE_SIZE = 10  # the news lists' (news.views)
DEEP_PAGE_OFFSET = 39 * PAGE_SIZE  # page 40


def main():
    main_on_demo_database(__doc__, SCRATCH_DB, run, runs=20, runs_help="timed runs of each query and way")


def small_topic_and_region():
    """A topic of the three oldest published articles and a region of the two oldest, made once."""
    from news.models import Article, Topic
    from regions.models import Region

    oldest = list(Article.objects.published().order_by("publish_at", "pk")[:3])
    topic, made = Topic.objects.get_or_create(slug="bench-small-topic", defaults={"name": "Bench: a small topic"})
    if made:
        topic.articles.set(oldest)
    region, made = Region.objects.get_or_create(
        slug="bench-small-region", defaults={"name": "Bench: a small region", "country": "Nowhere"}
    )
    if made:
        region.articles.set(oldest[:2])
    return topic, region


def largest(through, field):
    """The id of the topic or region with the most articles, and how many."""
    from django.db.models import Count

    row = through.objects.values(field).annotate(n=Count("*")).order_by("-n").first()
    return row[field], row["n"]


def run(options):
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from baltmet.prepared import prepared
    from news import models as news_models
    from news.models import Article

    small_topic, small_region = small_topic_and_region()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    big_topic, big_topic_size = largest(Article.topics.through, "topic_id")
    big_region, big_region_size = largest(Article.regions.through, "region_id")
    now = timezone.now()

    latest_in_region = news_models._latest_in_region_query(5)
    cases = []
    for size, topic in ((small_topic.articles.count(), small_topic.pk), (big_topic_size, big_topic)):
        label, values = f"{size} articles", {"topic": topic, "now": now}
        cases += [
            ("a topic's count", label, news_models._topic_count_query, values, None),
            ("a topic's page 1", label, news_models._topic_rows_query, values, 0),
        ]
        if size > DEEP_PAGE_OFFSET:  # a page the site has (it answers 404 past the last)
            cases.append(("a topic's page 40", label, news_models._topic_rows_query, values, DEEP_PAGE_OFFSET))
    for label, region in (("2 articles", small_region.pk), (f"{big_region_size} articles", big_region)):
        cases.append(("a region's latest news", label, latest_in_region, {"region": region, "now": now}, None))

    def reader(query, values, offset):
        if offset is None:
            return lambda: query.rows(**values)
        return lambda: query.rows_at(offset, PAGE_SIZE, **values)

    results = []
    for name, label, query, values, offset in cases:
        results.append([name, label, median_ms(reader(query, values, offset), options.runs)])
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
    one_plan = {}
    for (name, label, query, values, offset), result in zip(cases, results):
        # The same compiled query, PREPAREd: one plan for every value.
        same = one_plan.setdefault(id(query), prepared(query.build))
        result.append(median_ms(reader(same, values, offset), options.runs))

    with connection.cursor() as cursor:
        cursor.execute("RESET plan_cache_mode")
    print(f"{Article.objects.count()} articles; {server_and_cpus()}; "
          f"median of {options.runs} runs (ms, from Python, with the round trip)")
    print()
    print("| query | of a topic or region with | planned for its values | one plan for every value |")
    print("|---|---|---:|---:|")
    for name, label, per_value, generic in results:
        print(f"| {name} | {label} | {per_value:.2f} | {generic:.2f} |")


if __name__ == "__main__":
    run_stopping_cleanly(main)
