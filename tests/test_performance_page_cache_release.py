"""Pages are cached per release (baltmet.release): after a deploy, Redis's pages made by the code
before it are not served. The release is a digest of the project's code, templates, static files
and pinned requirements, by content, so that every server with the same checkout agrees."""

import io
import os
import shutil
import zoneinfo
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.utils import autoreload, timezone

from baltmet import release, release_since
from tests.news_factories import make_article
from tests.page_cache_settings import use_local_memory_page_cache
from tests.redis_for_tests import use_redis_page_cache
from tests.subprocess_env import run_python

REDIS_DB = 9


@pytest.fixture
def redis_page_cache(transactional_db, settings):
    cache = use_redis_page_cache(settings, REDIS_DB)
    yield cache
    cache.close()


def test_pages_made_by_another_release_are_not_served(redis_page_cache, client, monkeypatch):
    article = make_article("Made by one release")
    path = article.get_absolute_url()
    client.get(path)
    assert client.get(path)["X-Page-Cache"] == "hit"

    ours = release.current()
    monkeypatch.setattr(release, "current", lambda: "another-release")
    assert client.get(path)["X-Page-Cache"] == "miss"
    assert client.get(path)["X-Page-Cache"] == "hit"

    # Both releases' pages are kept apart, as during a rolling deploy.
    monkeypatch.setattr(release, "current", lambda: ours)
    assert client.get(path)["X-Page-Cache"] == "hit"


@pytest.fixture
def tree(tmp_path):
    """A small project: an app with code, a template and a static file, compiled code, and
    requirements."""
    root = tmp_path / "project"
    for name, text in {
        "news/views.py": "VIEW = 1\n",
        "news/templates/news/article.html": "<h1>{{ title }}</h1>\n",
        "news/static/news/site.css": "h1 { color: navy }\n",
        "news/__pycache__/views.cpython-311.pyc": "compiled",
        "requirements.txt": "Django==5.2.19\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _release_of(root):
    return release.digest(release.files_under(root), root)


@pytest.mark.parametrize(
    "change",
    ["news/views.py", "news/templates/news/article.html", "news/static/news/site.css", "requirements.txt"],
)
def test_the_release_changes_with_any_file_that_makes_pages(tree, change):
    before = _release_of(tree)
    (tree / change).write_text((tree / change).read_text() + "# changed\n")
    assert _release_of(tree) != before


def test_compiled_code_does_not_count(tree):
    before = _release_of(tree)
    (tree / "news/__pycache__/views.cpython-311.pyc").write_text("compiled again")
    assert _release_of(tree) == before


def test_the_release_changes_with_a_file_added_or_renamed(tree):
    before = _release_of(tree)
    (tree / "news/templates/news/extra.html").write_text("")
    added = _release_of(tree)
    assert added != before
    (tree / "news/templates/news/extra.html").rename(tree / "news/templates/news/other.html")
    assert _release_of(tree) not in (before, added)


def test_the_same_code_elsewhere_or_checked_out_again_is_the_same_release(tree, tmp_path):
    before = _release_of(tree)
    os.utime(tree / "news/views.py", (1, 1))
    assert _release_of(tree) == before, "dates do not count"
    copy = tmp_path / "elsewhere"
    shutil.copytree(tree, copy)
    assert _release_of(copy) == before, "nor the folder the checkout is in"


def test_two_files_cannot_run_together_into_the_same_release(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for root, files in ((one, {"a": "bc", "d": ""}), (two, {"a": "b", "cd": ""})):
        root.mkdir()
        for name, text in files.items():
            (root / name).write_text(text)
    assert _release_of(one) != _release_of(two)


def test_the_projects_release_covers_its_apps_templates_and_requirements_only():
    root = Path(settings.BASE_DIR)
    files = {path.relative_to(root).as_posix() for path in release.project_files()}
    for expected in (
        "news/views.py",
        "templates/regions/region_detail.html",
        "regions/charts.py",
        "baltmet/static/baltmet/site.css",
        "templates/base.html",
        "requirements.txt",
    ):
        assert expected in files
    assert not [name for name in files if "__pycache__" in name or name.startswith((".venv/", "tests/"))]
    assert all(name.split("/")[0] in {"baltmet", "news", "regions", "templates", "requirements.txt"} for name in files)


@pytest.fixture
def worked_out_again():
    """`release.current()` forgets what it worked out, before and after the test."""
    release.current.cache_clear()
    yield
    release.current.cache_clear()


def test_a_checkout_reached_through_a_symbolic_link_is_the_same_release(tmp_path, monkeypatch, worked_out_again):
    ours = release.current()
    root = Path(settings.BASE_DIR)
    link = tmp_path / "current"
    link.symlink_to(root, target_is_directory=True)
    # The apps as Python finds them when the checkout is on sys.path through the link, while
    # the settings' BASE_DIR is resolved.
    for config in apps.get_app_configs():
        if Path(config.path).parent == root:
            monkeypatch.setattr(config, "path", str(link / Path(config.path).name))
    release.current.cache_clear()
    assert release.current() == ours


def test_files_that_cannot_be_read_give_the_process_a_release_of_its_own(monkeypatch, worked_out_again, caplog):
    vanished = Path(settings.BASE_DIR) / "news" / "gone-during-a-deploy.html"
    monkeypatch.setattr(release, "project_files", lambda: {vanished})
    own = release.current()
    assert own.startswith("process-")
    release.current.cache_clear()
    assert release.current() != own, "no other process has it"
    assert any(record.levelname == "ERROR" and "release cannot be worked out" in record.getMessage() for record in caplog.records)


@pytest.fixture
def template_changed(transactional_db, settings, monkeypatch, worked_out_again):
    """The page cache as `runserver` has it, and what its autoreloader does on a template's
    change (the function given); the release's start, and what this process recorded of it,
    put back afterwards (review r29g: recorded under a clock 20 s ahead, it kept later tests'
    feeds from sending a Last-Modified)."""
    use_local_memory_page_cache(settings)
    monkeypatch.setattr(release_since, "started", release_since.started)
    monkeypatch.setattr(release_since, "_recorded", release_since._recorded)

    def changed():
        autoreload.file_changed.send(sender=None, file_path=Path(settings.BASE_DIR) / "templates" / "base.html")

    return changed


def test_a_template_edited_under_runserver_is_a_new_release_at_once(client, monkeypatch, template_changed):
    # runserver's autoreloader does not restart the process for a template's change (Django
    # resets its template loaders): pages stored before were served for up to an hour.
    path = make_article("Made before the edit").get_absolute_url()
    client.get(path)
    assert client.get(path)["X-Page-Cache"] == "hit"
    monkeypatch.setattr(release, "page_settings", lambda: "as the files are now")  # another digest
    assert client.get(path)["X-Page-Cache"] == "hit", "worked out once per process"

    started = release_since.started
    template_changed()
    assert client.get(path)["X-Page-Cache"] == "miss"
    assert release_since.started > started, "the new release started serving at the change"


def test_a_request_while_the_release_changes_does_not_date_the_new_one_to_the_process_start(
    client, monkeypatch, template_changed
):
    # A request thread run between the receiver's steps (review r25j): the new release must
    # start serving at the change, or If-Modified-Since would hide what the edit changed.
    start_anew = release_since.start_anew

    def a_request_first():
        client.get("/news/")
        start_anew()

    monkeypatch.setattr(release_since, "start_anew", a_request_first)
    assert client.get("/news/").status_code == 200  # the release as the process started
    monkeypatch.setattr(release, "page_settings", lambda: "as the files are now")  # another digest
    changed_at = timezone.now()
    template_changed()
    assert release_since.serving_since() >= changed_at


def test_a_template_edit_undone_under_runserver_serves_no_page_stored_before_the_edit(
    client, monkeypatch, template_changed
):
    # Edited, then undone: the first release's pages stored before the edit must not answer
    # a client of the edited one, as after a rollback (baltmet.release_since; review r25k).
    make_article("Feed news")
    start = timezone.now()
    clock = {"now": start + timedelta(seconds=2)}
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])
    assert client.get("/news/feed/")["X-Page-Cache"] == "miss"  # stored by the first release

    first_settings = release.page_settings()
    clock["now"] = start + timedelta(seconds=10)
    monkeypatch.setattr(release, "page_settings", lambda: "as edited")
    template_changed()
    clock["now"] = start + timedelta(seconds=12)
    edited = client.get("/news/feed/")
    assert edited["X-Page-Cache"] == "miss"

    clock["now"] = start + timedelta(seconds=20)
    monkeypatch.setattr(release, "page_settings", lambda: first_settings)  # the edit undone
    template_changed()
    again = client.get("/news/feed/", headers={"If-Modified-Since": edited["Last-Modified"]})
    assert (again.status_code, again["X-Page-Cache"]) == (200, "miss")


def test_the_release_is_worked_out_when_the_application_loads():
    code = (
        "import django; django.setup()\n"
        "from baltmet import release\n"
        "assert release.current.cache_info().currsize == 1, release.current.cache_info()\n"
    )
    child = run_python(code, {"DJANGO_SETTINGS_MODULE": "tests.settings"})
    assert child.returncode == 0, child.stderr


@pytest.mark.parametrize("name, values", [
    ("TIME_ZONE", ("Europe/Helsinki", "Europe/Oslo")),
    # The scheme of every absolute address feeds, calendars and sitemaps write.
    ("SECURE_PROXY_SSL_HEADER", (("HTTP_X_FORWARDED_PROTO", "https"), None)),
    # The path every absolute address starts with (review r27a).
    ("FORCE_SCRIPT_NAME", ("/site/", None)),
])
def test_the_release_changes_with_the_settings_that_change_pages(settings, worked_out_again, name, values):
    ours = release.current()
    setattr(settings, name, values[0] if getattr(settings, name) != values[0] else values[1])
    release.current.cache_clear()
    assert release.current() != ours


def test_the_release_changes_with_the_path_gunicorn_mounts_the_site_under(monkeypatch, worked_out_again):
    monkeypatch.delenv("SCRIPT_NAME", raising=False)
    ours = release.current()
    monkeypatch.setenv("SCRIPT_NAME", "/site")
    release.current.cache_clear()
    assert release.current() != ours


def test_the_release_changes_with_the_rules_of_the_sites_time_zone(monkeypatch, worked_out_again):
    # What the calendars' VTIMEZONE says; the system's zone files come first, and an update of
    # the operating system changes them (review r27a).
    rules = release.time_zone_rules()
    assert rules.startswith(b"TZif")
    assert zoneinfo.ZoneInfo.from_file(io.BytesIO(rules)).utcoffset(datetime(2026, 7, 1)) == (
        zoneinfo.ZoneInfo(settings.TIME_ZONE).utcoffset(datetime(2026, 7, 1))
    )
    ours = release.current()
    monkeypatch.setattr(release, "time_zone_rules", lambda: rules + b"a new rule")
    release.current.cache_clear()
    assert release.current() != ours


@pytest.mark.parametrize(
    "name, other",
    [
        ("DEBUG", lambda value: not value),
        ("LANGUAGE_CODE", lambda value: "de" if value != "de" else "fi"),
        ("STATIC_URL", lambda value: "https://cdn.example.org/static/"),
        ("MEDIA_URL", lambda value: "https://cdn.example.org/media/"),
        ("ROOT_URLCONF", lambda value: value + "_elsewhere"),
    ],
)
def test_the_release_changes_with_every_setting_that_changes_pages(settings, worked_out_again, name, other):
    # The rest of release._PAGE_SETTINGS beside the time zone, the proxy's header and the
    # mount path tested above (review r29d).
    ours = release.current()
    setattr(settings, name, other(getattr(settings, name)))
    release.current.cache_clear()
    assert release.current() != ours


def test_the_time_zone_rules_are_the_systems_where_it_has_them(tmp_path, monkeypatch):
    # tzdata's copy starts with TZif too: the test above cannot tell which was read (review r29d).
    system = tmp_path / settings.TIME_ZONE
    system.parent.mkdir(parents=True)
    system.write_bytes(b"TZif the operating system's own, updated")
    monkeypatch.setattr(zoneinfo, "TZPATH", (str(tmp_path),))
    assert release.time_zone_rules() == system.read_bytes()


def test_runserver_still_restarts_for_a_changed_python_file(transactional_db, monkeypatch, worked_out_again):
    # The release's receiver of the reloader's file_changed returns None (review r29d: True
    # would tell runserver the change was handled, and it would not restart).
    monkeypatch.setattr(release_since, "started", release_since.started)
    monkeypatch.setattr(release_since, "_recorded", release_since._recorded)
    restarts = []
    monkeypatch.setattr(autoreload, "trigger_reload", restarts.append)
    changed = Path(settings.BASE_DIR) / "news" / "views.py"
    autoreload.StatReloader().notify_file_changed(changed)
    assert restarts == [changed]


def test_a_feeds_etag_changes_with_the_release(db, client, monkeypatch):
    make_article("In the feed")
    first = client.get("/news/feed/")
    monkeypatch.setattr(release, "current", lambda: "another-release")
    response = client.get("/news/feed/", headers={"If-None-Match": first["ETag"]})
    assert response.status_code == 200, "a client's copy from the release before is not current"
    assert response["ETag"] != first["ETag"]
