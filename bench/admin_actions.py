#!/usr/bin/env python
"""
What the admin's bulk actions cost an editor on a large archive: publishing and unpublishing
articles, and deleting them, with every article of a list selected ("Select all N articles").

Makes a scratch PostgreSQL database with 100 000 demo articles (generate_demo_content, the
seed fixtures), signs a superuser in with Django's test client, and times whole requests
in-process, as the admin answers them (its queries, the log rows, the redirect or the page):

- "Delete selected articles": its confirmation page and the deletion (in a transaction
  rolled back afterwards; the page cache's version change waits for a commit, so it is not
  in this figure), for the drafts of the year that has the most of them within the admin's
  limit (baltmet.admin_delete_limit), for every draft and for every article: as the admin
  does it (past the limit it refuses; the links to topics and regions counted on the page,
  baltmet.admin_delete_summary), then as Django's own action does it, without a limit;
- every draft published (the list filtered to drafts, all selected), then every article
  unpublished, and every article published again. Afterwards, untimed (also after a failure
  or Ctrl-C), the statuses are put back as the run found them and its history entries deleted.

Each once (they change the articles, so a second run would not do the same work), after a
warm-up on a small selection. The scratch database is dropped afterwards (--keep keeps it,
and a later --keep run with as many articles reuses it: the statuses it then starts from
are those the demo content has).

    .venv/bin/python bench/admin_actions.py [--articles 100000] [--keep]

DATABASE_URL (default postgres://baltmet:baltmet@127.0.0.1:5432/baltmet, as for the tests)
names the server and a role that may create databases; run `scripts/ensure-postgres.sh` first.
"""

import sys
import time
from contextlib import contextmanager

from scratch_db import PROJECT, admin_client, main_on_demo_database, run_stopping_cleanly, server_and_cpus

sys.path.insert(0, str(PROJECT))

SCRATCH_DB = "baltmet_bench_admin_actions"
CHANGELIST = "/admin/news/article/"


def main():
    main_on_demo_database(__doc__, SCRATCH_DB, run)  # each request once: no --runs


def run(options):
    import django

    django.setup()
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from django.contrib.admin.models import LogEntry
    from django.db import connection, transaction
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext

    from baltmet.admin_delete_limit import delete_selected_limit
    from news.admin import ArticleAdmin
    from news.models import Article

    editor, client = admin_client("bench-admin-actions")
    drafts = {"status__exact": Article.Status.DRAFT}

    def act(action, filters=None, selected=None, confirm=False):
        """POST `action` on the changelist: on `selected` ids, or on every article `filters`
        lets through (select_across). Returns (ms, queries, response)."""
        data = {"action": action, "index": 0}
        if selected is None:
            data["select_across"] = 1
            data[ACTION_CHECKBOX_NAME] = [Article.objects.values_list("pk", flat=True).first()]
        else:
            data[ACTION_CHECKBOX_NAME] = selected
        if confirm:
            data["post"] = "yes"
        query = "?" + "&".join(f"{key}={value}" for key, value in (filters or {}).items()) if filters else ""
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.post(CHANGELIST + query, data)
            ms = (time.perf_counter() - started) * 1000
        assert response.status_code in (200, 302), response.status_code
        return ms, len(queries), response

    draft_ids = list(Article.objects.filter(**drafts).values_list("pk", flat=True))
    try:
        # Warm-up: the admin's modules, templates and prepared statements, on ten articles.
        few = draft_ids[:10]
        act("publish", selected=few)
        act("unpublish", selected=few)
        act("delete_selected", selected=few)

        def timed(label, count, action, filters=None, confirm=False):
            """(label, count, queries, ms, response bytes, refused) of one request."""
            before = Article.objects.count()
            ms, queries, response = act(action, filters, confirm=confirm)
            # Refused: back to the list instead of the confirmation page, or nothing deleted.
            refused = action == "delete_selected" and (
                Article.objects.count() == before if confirm else response.status_code == 302
            )
            return label, count, queries, ms, len(response.content), refused

        def rolled_back(*args, **kwargs):
            with transaction.atomic():
                row = timed(*args, **kwargs)
                transaction.set_rollback(True)
            return row

        def deletions():
            return [
                timed(f"delete confirmation, the drafts of {year}", in_year, "delete_selected", drafts_of_year),
                rolled_back(f"delete the drafts of {year} (rolled back)", in_year, "delete_selected", drafts_of_year,
                            confirm=True),
                timed("delete confirmation, every draft", len(draft_ids), "delete_selected", drafts),
                timed("delete confirmation, every article", every, "delete_selected"),
                rolled_back("delete every draft (rolled back)", len(draft_ids), "delete_selected", drafts, confirm=True),
            ]

        every = Article.objects.count()
        # The year with the most drafts that "Delete selected" still takes at once.
        limit = delete_selected_limit(ArticleAdmin)
        by_year = Article.objects.filter(**drafts).values_list("publish_at__year").annotate(n=Count("pk"))
        year, in_year = max(((y, n) for y, n in by_year if n <= limit), key=lambda pair: pair[1])
        drafts_of_year = {**drafts, "publish_at__year": year}

        ours = deletions()
        with djangos_own_delete():
            djangos = deletions()
        status_changes = [
            timed("publish every draft", len(draft_ids), "publish", drafts),
            timed("unpublish every article", every, "unpublish"),
            timed("publish every article", every, "publish"),
        ]
    finally:
        # The database as the run found it, also after a failure or Ctrl-C (a --keep run reuses
        # it): the statuses it started from, and none of the history entries it wrote.
        Article.objects.filter(pk__in=draft_ids).exclude(status=Article.Status.DRAFT).update(
            status=Article.Status.DRAFT
        )
        Article.objects.exclude(pk__in=draft_ids).exclude(status=Article.Status.PUBLISHED).update(
            status=Article.Status.PUBLISHED
        )
        LogEntry.objects.filter(user=editor).delete()

    print(f"{every} articles ({len(draft_ids)} drafts); {server_and_cpus()}; "
          f"one request each (ms, in-process); delete_selected_limit {limit}")
    print()
    print("| request | articles | with the limit: queries | ms | bytes | Django's own: queries | ms | bytes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for (label, count, queries, ms, size, refused), (_, _, own_queries, own_ms, own_size, _) in zip(ours, djangos):
        print(f"| {label} | {count} | {queries} | {ms:.0f}{' (refused)' if refused else ''} | {size} "
              f"| {own_queries} | {own_ms:.0f} | {own_size} |")
    print()
    print("| request | articles | queries | ms |")
    print("|---|---:|---:|---:|")
    for label, count, queries, ms, _, _ in status_changes:
        print(f"| {label} | {count} | {queries} | {ms:.0f} |")


@contextmanager
def djangos_own_delete():
    """"Delete selected" as Django's admin has it, for comparison: for any number of articles,
    and its confirmation listing every row that goes with them."""
    from django.contrib import admin
    from django.test.utils import override_settings

    from news.admin import ArticleAdmin

    ArticleAdmin.delete_selected_limit = sys.maxsize
    ArticleAdmin.get_deleted_objects = admin.ModelAdmin.get_deleted_objects
    try:
        # The confirmation's own limit (baltmet.admin_delete_limit) lifted too.
        with override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=None):
            yield
    finally:
        del ArticleAdmin.delete_selected_limit
        del ArticleAdmin.get_deleted_objects


if __name__ == "__main__":
    run_stopping_cleanly(main)
