from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.settings_loader import STRONG_KEY, load_settings
from tests.subprocess_env import run_manage


def test_database_defaults_to_sqlite_file_in_project(monkeypatch):
    settings = load_settings(monkeypatch, DJANGO_DEBUG="1")
    database = settings.DATABASES["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(database["NAME"]) == settings.BASE_DIR / "db.sqlite3"


def test_database_url_selects_postgresql(monkeypatch):
    settings = load_settings(monkeypatch, DJANGO_DEBUG="1", DATABASE_URL="postgres://u:p@db.example:6543/cms")
    database = settings.DATABASES["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"], database["USER"]) == ("db.example", 6543, "cms", "u")


def test_session_options_given_in_the_database_url_are_kept_and_no_session_setting_added(monkeypatch):
    url = "postgres://u:p@db.example/cms?options=-c%20statement_timeout%3D5000&sslmode=require"
    options = load_settings(monkeypatch, DJANGO_DEBUG="1", DATABASE_URL=url).DATABASES["default"]["OPTIONS"]
    assert (options["options"], options["sslmode"]) == ("-c statement_timeout=5000", "require")
    plain = load_settings(monkeypatch, DJANGO_DEBUG="1", DATABASE_URL="postgres://u:p@db.example/cms")
    # Only the network timeouts (tests/test_performance_database_network_timeouts.py).
    assert "options" not in plain.DATABASES["default"]["OPTIONS"]


def test_allowed_hosts_from_comma_separated_list(monkeypatch):
    settings = load_settings(monkeypatch, DJANGO_SECRET_KEY=STRONG_KEY, DJANGO_ALLOWED_HOSTS="baltmet.org, www.baltmet.org")
    assert settings.ALLOWED_HOSTS == ["baltmet.org", "www.baltmet.org"]


def test_redis_url_switches_cache_and_page_cache_version_to_redis(monkeypatch):
    settings = load_settings(monkeypatch, DJANGO_DEBUG="1", REDIS_URL="redis://cache:6379/1")
    assert settings.CACHES["default"] == {
        "BACKEND": "baltmet.cache.RedisCache",
        "LOCATION": "redis://cache:6379/1",
        "KEY_PREFIX": "",
        "OPTIONS": settings.REDIS_OPTIONS,
    }
    assert settings.REDIS_OPTIONS["socket_connect_timeout"] == settings.REDIS_OPTIONS["socket_timeout"] == 0.5
    assert settings.REDIS_OPTIONS["socket_keepalive"] is True
    assert settings.PAGE_CACHE_VERSION_IN_CACHE is True


def test_redis_timeout_from_environment(monkeypatch):
    settings = load_settings(monkeypatch, DJANGO_DEBUG="1", REDIS_URL="redis://cache:6379/1", DJANGO_REDIS_TIMEOUT="2.5")
    options = settings.CACHES["default"]["OPTIONS"]
    assert (options["socket_connect_timeout"], options["socket_timeout"]) == (2.5, 2.5)
    with pytest.raises(ImproperlyConfigured, match="DJANGO_REDIS_TIMEOUT='soon' is not a number"):
        load_settings(monkeypatch, DJANGO_DEBUG="1", REDIS_URL="redis://cache:6379/1", DJANGO_REDIS_TIMEOUT="soon")


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_a_redis_timeout_that_is_no_time_or_forever_is_refused(monkeypatch, value):
    with pytest.raises(ImproperlyConfigured, match="DJANGO_REDIS_TIMEOUT=.* must be a number of seconds above 0"):
        load_settings(monkeypatch, DJANGO_DEBUG="1", REDIS_URL="redis://cache:6379/1", DJANGO_REDIS_TIMEOUT=value)


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_a_database_check_interval_that_is_negative_or_never_is_refused(monkeypatch, value):
    assert load_settings(monkeypatch, DJANGO_DEBUG="1").PAGE_CACHE_DATABASE_CHECK_SECONDS == 1
    with pytest.raises(ImproperlyConfigured, match="DJANGO_PAGE_CACHE_DATABASE_CHECK_SECONDS=.* 0 or more"):
        load_settings(monkeypatch, DJANGO_DEBUG="1", DJANGO_PAGE_CACHE_DATABASE_CHECK_SECONDS=value)


def test_cache_key_prefix_from_environment(monkeypatch):
    settings = load_settings(monkeypatch, DJANGO_DEBUG="1", REDIS_URL="redis://cache:6379/1", DJANGO_CACHE_KEY_PREFIX="baltmet-staging")
    assert settings.CACHES["default"]["KEY_PREFIX"] == "baltmet-staging"


def test_without_redis_url_cache_is_local_memory_and_the_version_in_the_database(monkeypatch):
    settings = load_settings(monkeypatch, DJANGO_DEBUG="1")
    # Django's, bounded in bytes too (baltmet.local_memory_cache).
    assert settings.CACHES["default"]["BACKEND"] == "baltmet.local_memory_cache.LocMemCache"
    assert settings.PAGE_CACHE_VERSION_IN_CACHE is False


def test_media_root_time_zone_and_language_from_environment(monkeypatch, tmp_path):
    settings = load_settings(
        monkeypatch,
        DJANGO_DEBUG="1",
        MEDIA_ROOT=str(tmp_path),
        DJANGO_TIME_ZONE="Europe/Riga",
        DJANGO_LANGUAGE_CODE="lv",
    )
    assert settings.MEDIA_ROOT == tmp_path
    assert settings.TIME_ZONE == "Europe/Riga"
    assert settings.LANGUAGE_CODE == "lv"


def test_relative_media_and_static_roots_are_the_projects_wherever_a_process_starts(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(monkeypatch, DJANGO_DEBUG="1", MEDIA_ROOT="uploads", STATIC_ROOT="collected")
    project = Path(__file__).resolve().parent.parent
    assert settings.MEDIA_ROOT == project / "uploads"
    assert settings.STATIC_ROOT == project / "collected"


def test_production_settings_are_hardened_by_default(monkeypatch):
    settings = load_settings(monkeypatch, DJANGO_SECRET_KEY=STRONG_KEY)
    assert settings.SECURE_SSL_REDIRECT and settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE
    assert settings.SECURE_HSTS_SECONDS >= 31536000


def test_debug_value_that_is_not_a_boolean_is_an_error(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG"):
        load_settings(monkeypatch, DJANGO_DEBUG="maybe")


def test_the_zero_setup_migrate_on_sqlite_warns_of_nothing(tmp_path):
    # `make run` migrates an SQLite file: its output is what a newcomer sees first.
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}", "DJANGO_DEBUG": "1"}
    result = run_manage(["migrate", "--noinput", "-v", "0"], env)
    assert result.returncode == 0, result.stderr
    assert "System check identified" not in result.stderr, result.stderr
