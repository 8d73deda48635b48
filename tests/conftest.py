from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from baltmet import cache_failures, content_version, postgres_watch, redis_watch, release_since
from baltmet.content_version import local_midnight
from baltmet.models import Release


def _a_test_uses_the_database(items):
    # As pytest-django decides whether to make the test database: where none of the tests run
    # does, the connection still names the project's own database, which no test may write to.
    return any(
        item.get_closest_marker("django_db") or {"db", "transactional_db", "live_server"} & set(item.fixturenames)
        for item in items
    )


@pytest.fixture(scope="session", autouse=True)
def _release_recorded_as_the_process_starts(request, django_db_setup, django_db_blocker):
    """As a server process does when it starts (baltmet.wsgi): else the first page of each test
    process would run one query more than the same page does on a server. The row goes again,
    as transactional tests' flushes take it anyway: each test starts without one."""
    if not _a_test_uses_the_database(request.session.items):
        return
    with django_db_blocker.unblock():
        assert release_since.serving_since() is not None
        Release.objects.all().delete()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Each test writes uploads to its own folder, never to the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _page_cache_watches_stopped():
    """A page served by a test starts this process's watch of the content version, with a
    connection of its own (baltmet.postgres_watch, or baltmet.redis_watch's subscription):
    stopped after each test, so that none outlives the test that made it, nor the test
    database, which is dropped at the end, and idle subscriptions do not pile up in Redis."""
    yield
    postgres_watch.close_all()
    redis_watch.close_all()


@pytest.fixture(autouse=True)
def _cache_failures_forgotten(monkeypatch, settings, _page_cache_watches_stopped):
    """A test that makes the cache fail (Redis down) leaves it resting for a moment
    (baltmet.cache_failures), changes trying Redis once and a thread writing the versions of a
    change that gave up (baltmet.content_version): not into the next test. The thread is stopped
    first, then what it may have given up on forgotten; and before the test's monkeypatching,
    its settings and the watches are undone (this fixture is set up after them), so that it
    never writes through the real functions after a test made them fail, nor elsewhere."""
    yield
    cache_failures.forget()
    content_version._OwedVersionWrites.stop_all()
    content_version._writes_given_up.clear()


@pytest.fixture
def clock_away_from_midnight(monkeypatch):
    """timezone.now() moved on, where needed, so that the next midnight in the site's time
    zone is at least three hours away. Pages change by themselves at midnight (dates, all-day
    events): a test that moves the clock on by minutes or hours and expects only the change it
    makes would fail when run late in the evening (CI, at 23:59 in Berlin). The clock is only
    ever moved forward, so that nothing already recorded (the release, a content version) is
    in its future."""
    real_now = timezone.now
    now = real_now()
    next_midnight = local_midnight(now, days_later=1)
    if next_midnight - now < timedelta(hours=3):
        ahead = next_midnight - now + timedelta(hours=1)
        monkeypatch.setattr(timezone, "now", lambda: real_now() + ahead)


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        username="editor", password="correct-horse-battery", is_staff=True, is_superuser=True
    )


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def editor_client(client, django_user_model):
    """Signed in as a member of the Editors group (not a superuser)."""
    editor = django_user_model.objects.create_user("editor", password="correct-horse-battery", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    client.force_login(editor)
    return client
