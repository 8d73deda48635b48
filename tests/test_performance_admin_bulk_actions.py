"""The admin's bulk actions on a large selection ("Select all 100 000 articles"). Publish and
unpublish: a fixed number of statements whatever the selection's size, no item loaded, and
each changed item still gets its entry in the admin history, as Django would write it.
Delete: at most `delete_selected_limit` items at a time (baltmet.admin_delete_limit).
Figures on 100 000 articles: bench/admin_actions.py, docs/performance.md.
"""

import re
import threading
from html import unescape

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

import news.admin
from baltmet.admin_delete_limit import delete_selected_limit
from news.models import Article, Event
from tests.news_factories import make_article, make_draft_article, make_event, make_scheduled_article, make_topic
from tests.subprocess_env import run_django_json, sqlite_site_env

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/news/article/"


def _select_all(staff_client, action, filters="", follow=True, **data):
    """`action` on every item the list shows with `filters` (its query string), with `data`
    besides (`post="yes"`: a deletion confirmed)."""
    first = Article.objects.values_list("pk", flat=True).first() or 0
    return staff_client.post(
        CHANGELIST + filters,
        {"action": action, "select_across": 1, "index": 0, "_selected_action": [first], **data},
        follow=follow,
    )


def _statements(staff_client, action, filters=""):
    with CaptureQueriesContext(connection) as queries:
        response = _select_all(staff_client, action, filters, follow=False)
    assert response.status_code == 302  # back to the list, which is not counted
    return [q["sql"] for q in queries]


def test_publishing_every_draft_takes_as_many_statements_for_3_as_for_40_and_loads_none(staff_client):
    counts = []
    for drafts in (1, 3, 40):  # the first run fills what Django keeps per process (content types)
        Article.objects.all().delete()
        for n in range(drafts):
            make_draft_article(f"Draft {n}")
        make_article("Already out")
        statements = _statements(staff_client, "publish", "?status__exact=draft")
        assert Article.objects.filter(status=Article.Status.DRAFT).count() == 0
        assert not [sql for sql in statements if '"news_article"."body"' in sql], "articles were loaded whole"
        assert not [sql for sql in statements if re.search(r"IN \((%s|\d+), ", sql)], "ids were listed"
        counts.append(len(statements))
    assert counts[1] == counts[2]


def test_each_changed_item_gets_the_history_entry_django_writes_all_at_the_actions_time(staff_client, staff_user):
    long_title = "A " + "very " * 45 + "long title"  # longer than object_repr's 200 characters
    changed = [make_draft_article(long_title, slug="long"), make_draft_article("Short")]
    untouched = make_article("Already out")
    response = _select_all(staff_client, "publish")
    assert "2 items published." in response.content.decode()

    entries = LogEntry.objects.filter(action_flag=CHANGE).order_by("object_repr")
    assert [(e.object_id, e.object_repr) for e in entries] == sorted(
        ((str(a.pk), str(a)[:200]) for a in changed), key=lambda pair: pair[1]
    )
    assert {e.content_type for e in entries} == {ContentType.objects.get_for_model(Article)}
    assert {e.change_message for e in entries} == {"Set status to published (admin action)."}
    assert {e.user for e in entries} == {staff_user}
    assert len({e.action_time for e in entries}) == 1
    [article] = [e.get_edited_object() for e in entries if e.object_id == str(changed[1].pk)]
    assert article == changed[1]
    assert not LogEntry.objects.filter(object_id=str(untouched.pk)).exists()


def test_select_all_changes_exactly_what_the_filtered_list_shows(staff_client):
    hydrogen = make_topic("Hydrogen")
    shown = [make_article(f"Hydrogen valley {n}", topics=[hydrogen]) for n in range(3)]
    hidden = [make_article("Hydrogen elsewhere"), make_article("Wind", topics=[make_topic("Wind")])]
    scheduled = make_scheduled_article("Hydrogen later", topics=[hydrogen], status=Article.Status.DRAFT)

    response = _select_all(staff_client, "unpublish", f"?topics__id__exact={hydrogen.pk}&q=valley")
    assert "3 items unpublished." in response.content.decode()
    assert set(Article.objects.filter(status=Article.Status.DRAFT)) == {*shown, scheduled}
    assert LogEntry.objects.count() == 3

    response = _select_all(staff_client, "publish", f"?topics__id__exact={hydrogen.pk}")
    assert "4 items published. 1 of them is scheduled" in response.content.decode()
    assert not Article.objects.filter(status=Article.Status.DRAFT).exists()
    assert all(article.status == Article.Status.PUBLISHED for article in hidden)


def test_the_event_admin_logs_events_too(staff_client):
    event = make_event("Draft summit", status=Event.Status.DRAFT)
    response = staff_client.post(
        "/admin/news/event/", {"action": "publish", "index": 0, "_selected_action": [event.pk]}, follow=True
    )
    assert "1 item published." in response.content.decode()
    [entry] = LogEntry.objects.all()
    assert (entry.content_type.model, entry.object_id, entry.object_repr) == ("event", str(event.pk), "Draft summit")


def test_the_actions_work_on_sqlite_as_make_run_serves_them(tmp_path):
    # make run's default database: no FOR UPDATE there, and the same INSERT … SELECT.
    answer = run_django_json(
        """
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from news.models import Article
editor = get_user_model().objects.create_superuser("editor", password="x")
client = Client()
client.force_login(editor)
first = Article.objects.values_list("pk", flat=True).first()
def select_all(action, filters=""):
    client.post("/admin/news/article/" + filters,
                {"action": action, "select_across": 1, "index": 0, "_selected_action": [first]})
select_all("unpublish")
drafts = Article.objects.filter(status="draft").count()
select_all("publish", "?status__exact=draft")
print(json.dumps({"vendor": connection.vendor, "articles": Article.objects.count(), "drafts": drafts,
                  "published": Article.objects.filter(status="published").count(),
                  "logged": LogEntry.objects.count()}))
""",
        sqlite_site_env(tmp_path, "regions_seed", "news_seed"),
    )
    assert answer["vendor"] == "sqlite"
    assert answer["articles"] > 0
    assert answer["drafts"] == answer["published"] == answer["articles"]
    assert answer["logged"] == 2 * answer["articles"]


# Two editors at once: what is logged is what changes (review r11).


def _in_a_thread(work):
    """`work()` on a connection of its own (another editor's request), committed."""
    failures = []

    def run():
        try:
            work()
        except BaseException as error:  # reported by the test, in its own thread
            failures.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, failures


@pytest.mark.django_db(transaction=True)
def test_an_item_unpublished_by_another_editor_during_the_logging_is_not_published_unlogged(
    staff_client, monkeypatch
):
    other = make_article("Out, then taken back by another editor")
    draft = make_draft_article("Draft")
    log_rows = news.admin.log_rows

    def log_rows_then_another_editor_unpublishes(*args, **kwargs):
        logged = log_rows(*args, **kwargs)
        # Another editor's request, committed while this action's transaction is open: it
        # may change `other`, which was not locked, as it was published already.
        thread, failures = _in_a_thread(lambda: Article.objects.filter(pk=other.pk).update(status="draft"))
        thread.join(10)
        assert not thread.is_alive() and not failures, failures
        return logged

    monkeypatch.setattr(news.admin, "log_rows", log_rows_then_another_editor_unpublishes)
    html = _select_all(staff_client, "publish").content.decode()

    logged = set(LogEntry.objects.values_list("object_id", flat=True))
    other.refresh_from_db()
    assert other.status == "draft" or str(other.pk) in logged, "published by the action without a history entry"
    assert logged == {str(draft.pk)} and "1 item published." in html


@pytest.mark.django_db(transaction=True)
def test_an_item_published_by_another_editor_while_the_action_waits_gets_no_entry(staff_client):
    draft = make_draft_article("Draft, published meanwhile by another editor")
    make_draft_article("Another draft")
    holding = threading.Event()

    def another_editor_publishes():
        with transaction.atomic():
            Article.objects.filter(pk=draft.pk).update(status="published")
            holding.set()
            threading.Event().wait(1.5)  # the action's statement waits for this row meanwhile

    thread, failures = _in_a_thread(another_editor_publishes)
    assert holding.wait(10)
    html = _select_all(staff_client, "publish").content.decode()
    thread.join(10)
    assert not failures, failures

    logged = set(LogEntry.objects.values_list("object_id", flat=True))
    assert str(draft.pk) not in logged, "an entry for a change this action did not make"
    assert "1 item published." in html
    assert len(logged) == 1


@pytest.fixture
def delete_limit_of_3(monkeypatch):
    from news.admin import ArticleAdmin

    monkeypatch.setattr(ArticleAdmin, "delete_selected_limit", 3)


def test_deleting_more_than_the_limit_is_refused_and_deletes_nothing(staff_client, delete_limit_of_3):
    for n in range(4):
        make_article(f"Kept {n}")
    for confirmed in ({}, {"post": "yes"}):
        html = _select_all(staff_client, "delete_selected", **confirmed).content.decode()
        assert "4 articles are selected: delete at most 3 at a time." in html
        assert "Nothing was deleted." in html and "Are you sure" not in html
    assert Article.objects.count() == 4
    assert not LogEntry.objects.exists()


def test_deleting_up_to_the_limit_asks_then_deletes(staff_client, delete_limit_of_3):
    for n in range(3):
        make_article(f"Gone {n}")
    assert "Are you sure" in _select_all(staff_client, "delete_selected", follow=False).content.decode()
    response = _select_all(staff_client, "delete_selected", post="yes")
    assert "Successfully deleted 3 articles." in response.content.decode()
    assert not Article.objects.exists()
    assert LogEntry.objects.count() == 3


def _confirmation_form(html):
    """The fields the delete confirmation page's form sends back, as a browser would."""
    form = re.search(r'<form method="post">(.*?)</form>', html, re.S).group(1)
    fields = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name, value = re.search(r'name="([^"]*)"', tag), re.search(r'value="([^"]*)"', tag)
        if name:
            fields.setdefault(unescape(name.group(1)), []).append(unescape(value.group(1)) if value else "")
    return fields


def test_as_many_as_the_limit_are_deleted_through_the_confirmation_page(staff_client, settings):
    # Its form sends back every item's key and three fields of its own: 997 with Django's
    # default of 1000 fields a request, 7 with 10.
    assert delete_selected_limit(news.admin.ArticleAdmin) == settings.DATA_UPLOAD_MAX_NUMBER_FIELDS - 3 == 997
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    for n in range(8):
        make_draft_article(f"Draft {n}")
    refused = _select_all(staff_client, "delete_selected").content.decode()
    assert "8 articles are selected: delete at most 7 at a time." in refused
    Article.objects.filter(title="Draft 7").delete()

    asked = _select_all(staff_client, "delete_selected", follow=False).content.decode()
    confirmed = staff_client.post(CHANGELIST, _confirmation_form(asked))

    assert confirmed.status_code == 302 and not Article.objects.exists()


def test_the_delete_action_keeps_its_place_label_and_permission(staff_client, client, django_user_model):
    make_article("Listed")  # the actions show with a list that has items
    html = staff_client.get(CHANGELIST).content.decode()
    options = re.findall(r'<option value="(\w+)">([^<]+)</option>', html)
    assert options[0] == ("delete_selected", "Delete selected articles")
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="change_article"))
    client.force_login(viewer)
    assert 'value="delete_selected"' not in client.get(CHANGELIST).content.decode()
