"""The Editors group can edit and publish content and upload images, and nothing of user management."""

from django.contrib.auth.models import Group

from news.models import Article
from tests.news_factories import make_draft_article
from tests.regions_factories import make_region


def test_migration_creates_the_editors_group_without_auth_permissions(db):
    permissions = set(
        Group.objects.get(name="Editors").permissions.values_list("content_type__app_label", "codename")
    )
    assert ("news", "change_article") in permissions
    assert ("news", "upload_image") in permissions
    assert ("regions", "change_region") in permissions
    assert not [perm for perm in permissions if perm[0] in {"auth", "contenttypes", "admin", "sessions", "axes"}]


def test_editor_can_write_and_publish_news(editor_client):
    assert editor_client.get("/admin/news/article/add/").status_code == 200
    draft = make_draft_article("Draft by someone")
    response = editor_client.post(
        "/admin/news/article/", {"action": "publish", "_selected_action": [draft.pk]}, follow=True
    )
    assert response.status_code == 200
    assert Article.objects.published().filter(pk=draft.pk).exists()


def test_editor_can_edit_regions_and_events(editor_client):
    region = make_region("testholm")
    assert editor_client.get(f"/admin/regions/region/{region.pk}/change/").status_code == 200
    assert editor_client.get("/admin/news/event/add/").status_code == 200


def test_editor_cannot_manage_users_groups_or_permissions(editor_client, django_user_model):
    for url in ("/admin/auth/user/", "/admin/auth/user/add/", "/admin/auth/group/", "/admin/auth/group/add/",
):
        assert editor_client.get(url).status_code == 403, url
    response = editor_client.post(
        "/admin/auth/user/add/", {"username": "intruder", "password1": "x-Very-long-pass-1", "password2": "x-Very-long-pass-1"}
    )
    assert response.status_code == 403
    assert not django_user_model.objects.filter(username="intruder").exists()
    index = editor_client.get("/admin/").content.decode()
    assert "/admin/auth/" not in index
    assert "/admin/news/article/" in index


def test_editor_cannot_delete_regions(editor_client):
    region = make_region("keepholm")
    assert editor_client.get(f"/admin/regions/region/{region.pk}/delete/").status_code == 403
