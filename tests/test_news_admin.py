"""The editors' admin for news, events and topics."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from news.models import Article, Event
from tests.news_factories import make_article, make_draft_article, make_event, make_scheduled_article, make_topic
from tests.upload_files import png

pytestmark = pytest.mark.django_db

ADMIN_PAGES = [
    "/admin/news/article/",
    "/admin/news/article/add/",
    "/admin/news/event/",
    "/admin/news/event/add/",
    "/admin/news/topic/",
    "/admin/news/topic/add/",
]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_open_for_staff(staff_client, url):
    make_article("Listed article", topics=[make_topic("Clusters")], event=make_event("Listed event"))
    response = staff_client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_send_anonymous_visitors_to_the_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_change_pages_open_for_staff_and_link_to_the_site(staff_client):
    article = make_article("Editable article")
    event = make_event("Editable event")
    topic = make_topic("Editable topic")
    for obj, url in (
        (article, f"/admin/news/article/{article.pk}/change/"),
        (event, f"/admin/news/event/{event.pk}/change/"),
        (topic, f"/admin/news/topic/{topic.pk}/change/"),
    ):
        response = staff_client.get(url)
        assert response.status_code == 200
        assert "View on site" in response.content.decode(), url


def test_article_form_uses_the_rich_text_editor_and_prepopulates_the_slug(staff_client):
    html = staff_client.get("/admin/news/article/add/").content.decode()
    assert 'data-field-id="id_body"' in html and 'data-type="ckeditortype"' in html
    assert "&quot;filebrowserUploadUrl&quot;: &quot;/ckeditor/upload/&quot;" in html, "with image uploads"
    assert (
        "&quot;id&quot;: &quot;#id_slug&quot;, &quot;name&quot;: &quot;slug&quot;, "
        "&quot;dependency_ids&quot;: [&quot;#id_title&quot;]" in html
    )
    for field in ("topics", "regions"):
        assert f'class="selectfilter" data-field-name="{field}"' in html, "filter_horizontal"
    assert 'class="admin-autocomplete"' in html and 'data-field-name="event"' in html


def test_article_changelist_searches_and_filters(staff_client):
    topic = make_topic("Clusters")
    make_article("Berlin conference", topics=[topic])
    make_draft_article("Oslo draft")
    searched = staff_client.get("/admin/news/article/", {"q": "Berlin"}).content.decode()
    assert "Berlin conference" in searched and "Oslo draft" not in searched
    drafts = staff_client.get("/admin/news/article/", {"status__exact": "draft"}).content.decode()
    assert "Oslo draft" in drafts and "Berlin conference" not in drafts
    by_topic = staff_client.get("/admin/news/article/", {"topics__id__exact": topic.pk}).content.decode()
    assert "Berlin conference" in by_topic and "Oslo draft" not in by_topic


def _event_form(**overrides):
    data = {
        "title": "Conference",
        "slug": "conference",
        "lead": "",
        "body": "",
        "starts_0": "2030-11-13",
        "starts_1": "09:00:00",
        "ends_0": "2030-11-13",
        "ends_1": "17:00:00",
        "all_day": "",
        "venue": "",
        "city": "Berlin",
        "country": "Germany",
        "region": "",
        "organisers": "",
        "registration_url": "",
        "status": "published",
        "publish_at_0": "2030-01-01",
        "publish_at_1": "00:00:00",
    }
    data.update(overrides)
    return data


def test_admin_adds_an_event(staff_client):
    response = staff_client.post("/admin/news/event/add/", _event_form())
    assert response.status_code == 302
    assert Event.objects.get().city == "Berlin"


def test_event_ending_before_it_starts_is_a_form_error_in_the_admin(staff_client):
    response = staff_client.post("/admin/news/event/add/", _event_form(ends_0="2030-11-12"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"ends": ["An event cannot end before it starts."]}
    assert not Event.objects.exists()


def test_event_slug_calendar_is_refused_in_the_admin(staff_client):
    response = staff_client.post("/admin/news/event/add/", _event_form(slug="calendar"))
    assert response.status_code == 200
    assert "slug" in response.context["adminform"].form.errors
    assert not Event.objects.exists()


def _article_form(**overrides):
    data = {
        "title": "With a picture",
        "slug": "with-a-picture",
        "lead": "",
        "body": "<p>Text</p><script>alert(1)</script>",
        "image_alt": "",
        "status": "draft",
        "publish_at_0": "2030-01-01",
        "publish_at_1": "00:00:00",
        "event": "",
    }
    data.update(overrides)
    return data


def test_lead_image_without_alt_text_is_refused(staff_client):
    response = staff_client.post("/admin/news/article/add/", {**_article_form(), "image": png("picture.png", size=(4, 3))})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"image_alt": ["A lead image needs alt text."]}
    assert not Article.objects.exists()


def test_article_with_image_and_alt_text_is_saved_with_a_sanitised_body(staff_client, settings):
    response = staff_client.post(
        "/admin/news/article/add/", {**_article_form(image_alt="A conference hall"), "image": png("picture.png", size=(4, 3))}
    )
    assert response.status_code == 302
    article = Article.objects.get()
    assert article.image_alt == "A conference hall"
    assert article.image.name.startswith("news/") and article.image.name.endswith(".png")
    assert (settings.MEDIA_ROOT / article.image.name).exists()
    assert article.body == "<p>Text</p>"


def test_lead_image_over_the_upload_limit_is_refused_and_not_stored(staff_client, settings):
    settings.MAX_UPLOAD_SIZE = 10
    response = staff_client.post(
        "/admin/news/article/add/", {**_article_form(image_alt="A conference hall"), "image": png("picture.png", size=(4, 3))}
    )
    assert response.status_code == 200
    assert "images may be at most 10" in response.context["adminform"].form.errors["image"][0]
    assert not Article.objects.exists()
    assert not settings.MEDIA_ROOT.exists() or not any(p.is_file() for p in settings.MEDIA_ROOT.rglob("*"))


def _run_action(staff_client, model, action, objects):
    return staff_client.post(
        f"/admin/news/{model}/",
        {"action": action, "_selected_action": [obj.pk for obj in objects]},
        follow=True,
    )


def test_publish_action_publishes_drafts_and_reports_the_count(staff_client):
    drafts = [make_draft_article("First draft"), make_draft_article("Second draft")]
    already = make_article("Already out")
    response = _run_action(staff_client, "article", "publish", [*drafts, already])
    assert "2 items published." in response.content.decode()
    published = set(Article.objects.published().values_list("title", flat=True))
    assert published == {"First draft", "Second draft", "Already out"}
    assert Client().get(drafts[0].get_absolute_url()).status_code == 200
    entries = LogEntry.objects.filter(action_flag=CHANGE)
    assert sorted(entry.object_repr for entry in entries) == ["First draft", "Second draft"]


def test_publish_action_keeps_a_scheduled_article_scheduled_and_says_so(staff_client):
    scheduled = make_scheduled_article("Later", status=Article.Status.DRAFT)
    publish_at = scheduled.publish_at
    response = _run_action(staff_client, "article", "publish", [scheduled])
    assert "1 item published. 1 of them is scheduled" in response.content.decode()
    scheduled.refresh_from_db()
    assert scheduled.status == Article.Status.PUBLISHED and scheduled.publish_at == publish_at
    assert Client().get(scheduled.get_absolute_url()).status_code == 404


def test_unpublish_action_takes_articles_off_the_site(staff_client):
    article = make_article("Withdrawn")
    before = article.updated
    response = _run_action(staff_client, "article", "unpublish", [article])
    assert "1 item unpublished." in response.content.decode()
    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT
    assert article.updated > before
    assert Client().get(article.get_absolute_url()).status_code == 404


def test_event_admin_has_the_publishing_actions_too(staff_client):
    event = make_event("Draft event", status=Event.Status.DRAFT)
    response = _run_action(staff_client, "event", "publish", [event])
    assert "1 item published." in response.content.decode()
    event.refresh_from_db()
    assert event.status == Event.Status.PUBLISHED


def test_publishing_actions_need_the_change_permission(client, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_article"))
    client.force_login(viewer)
    draft = make_draft_article("Draft")
    html = client.get("/admin/news/article/").content.decode()
    assert 'value="publish"' not in html
    client.post("/admin/news/article/", {"action": "publish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == Article.Status.DRAFT


def test_event_changelist_shows_dates_city_and_status(staff_client):
    make_event("Listed event", city="Brussels", starts=timezone.now() + timedelta(days=3))
    html = staff_client.get("/admin/news/event/").content.decode()
    for column in ("column-title", "column-starts", "column-ends", "column-city", "column-status"):
        assert column in html
    assert "Brussels" in html


def test_ckeditor_upload_refuses_anonymous_visitors_and_stores_nothing(client, settings):
    response = client.post("/ckeditor/upload/", {"upload": png("picture.png", size=(4, 3))})
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(path.is_file() for path in media.rglob("*"))


def test_ckeditor_upload_accepts_an_image_from_staff(staff_client, settings):
    staff_client.cookies["ckCsrfToken"] = "t" * 40
    response = staff_client.post("/ckeditor/upload/?CKEditorFuncNum=1", {"upload": png("picture.png", size=(4, 3)), "ckCsrfToken": "t" * 40})
    assert response.status_code == 200
    stored = [path for path in settings.MEDIA_ROOT.rglob("*") if path.is_file() and "_thumb" not in path.name]
    assert len(stored) == 1 and stored[0].suffix == ".png"


def test_article_form_finds_events_by_title_for_the_event_field(staff_client):
    make_event("Transnational Cluster Alliances")
    make_event("Boosting Innovation")
    response = staff_client.get(
        "/admin/autocomplete/",
        {"app_label": "news", "model_name": "article", "field_name": "event", "term": "Cluster"},
    )
    assert response.status_code == 200
    assert [result["text"] for result in response.json()["results"]] == ["Transnational Cluster Alliances"]
