"""The stock Django project that bench/stock_django.py measures beside the site
(bench/stock_django/) is what its docs say: the settings startproject writes, but where a
production server must differ (DEBUG off, the database, the hosts, the key; the one app
added), and pages that read the site's own tables: the ten latest published articles (no
draft, nothing scheduled) with their dates, and the topics. It runs in a child process, with
its own settings, on the test database."""

import json
import re
from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from tests.news_factories import make_article, make_draft_article, make_topic
from tests.subprocess_env import PROJECT_DIR, child_database_url, run_python

pytestmark = pytest.mark.django_db(transaction=True)  # committed: the child reads them

STOCK_PROJECT = PROJECT_DIR / "bench" / "stock_django"

_CHILD = """
import copy, importlib, json, os, re, sys, django, dj_database_url
from pathlib import Path

# The settings startproject writes for a project named "stock", read as a module would be.
template = Path(django.__file__).parent / "conf" / "project_template" / "project_name" / "settings.py-tpl"
text = re.sub(r"{{ (\\w+) }}", lambda match: "stock" if match.group(1) == "project_name" else "x", template.read_text())
startproject = {}
exec(compile(text, str(template), "exec"), {"__file__": str(Path("stock", "settings.py").resolve())}, startproject)
stock = importlib.import_module("stock.settings")
names = {name for name in (*startproject, *vars(stock)) if name.isupper()}
missing = object()
differ = sorted(name for name in names if getattr(stock, name, missing) != startproject.get(name, missing))
# Before Django fills in its defaults: the whole entry, not a few of its keys.
database = copy.deepcopy(stock.DATABASES)
expected_database = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=600)}

django.setup()
from django.test import Client

client = Client(HTTP_HOST="127.0.0.1")
pages = {path: client.get(path) for path in json.loads(sys.argv[1])}
print(json.dumps({
    "status": {path: response.status_code for path, response in pages.items()},
    "content": {path: response.content.decode() for path, response in pages.items()},
    "differ": differ,
    "startproject": {name: startproject[name] for name in ("INSTALLED_APPS", "MIDDLEWARE")},
    "stock": {name: getattr(stock, name) for name in ("DEBUG", "INSTALLED_APPS", "MIDDLEWARE", "ALLOWED_HOSTS")},
    "database as the site reads DATABASE_URL, connections kept": database == expected_database,
    "engine": database["default"]["ENGINE"],
    "key from the environment": stock.SECRET_KEY == os.environ["DJANGO_SECRET_KEY"],
}, default=str))
"""


def _stock_project(*paths):
    env = {"DATABASE_URL": child_database_url(), "DJANGO_SECRET_KEY": "stock-project-test-key", "DJANGO_SETTINGS_MODULE": "stock.settings"}
    done = run_python(_CHILD, env, cwd=STOCK_PROJECT, args=[json.dumps(paths)])
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_stock_project_s_news_page_shows_the_ten_latest_published_articles_with_their_dates():
    now = timezone.now()
    published = [make_article(f"Published {number:02}", publish_at=now - timedelta(days=number)) for number in range(1, 13)]
    make_draft_article("A draft, newer", publish_at=now - timedelta(minutes=5))
    make_article("Scheduled for tomorrow", publish_at=now + timedelta(days=1))
    latest = published[0]

    found = _stock_project("/news/", f"/news/{latest.slug}/")

    assert found["status"] == {"/news/": 200, f"/news/{latest.slug}/": 200}
    content = found["content"]["/news/"]
    shown = re.findall(r"<h2><a href=\"/news/([^/]+)/\">", content)
    assert shown == [article.slug for article in published[:10]]
    # Each with its own date, as the template's `date` filters write it (the project's time
    # zone is UTC), and its lead.
    dates = re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', content)
    expected = [article.publish_at.astimezone(UTC) for article in published[:10]]
    assert dates == [(when.isoformat(), f"{when.day} {when:%B %Y}") for when in expected]
    assert "The lead of Published 01." in content
    assert f"<h1>{latest.title}</h1>" in found["content"][f"/news/{latest.slug}/"]


def test_the_stock_project_s_topics_page_lists_the_topics():
    make_topic("Smart cities")
    make_topic("Life science")
    content = _stock_project("/topics/")["content"]["/topics/"]
    assert re.findall(r"<li>([^<]+)</li>", content) == ["Life science", "Smart cities"]


def test_the_stock_project_s_settings_are_startproject_s_but_where_production_differs():
    found = _stock_project("/floor/")
    assert found["status"] == {"/floor/": 200}
    assert found["differ"] == ["ALLOWED_HOSTS", "DATABASES", "DEBUG", "INSTALLED_APPS", "SECRET_KEY"]
    stock = found["stock"]
    assert stock["DEBUG"] is False
    assert stock["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost"]
    assert found["key from the environment"]
    assert stock["INSTALLED_APPS"] == [*found["startproject"]["INSTALLED_APPS"], "pages"]
    assert stock["MIDDLEWARE"] == found["startproject"]["MIDDLEWARE"]
    assert found["engine"] == "django.db.backends.postgresql"
    assert found["database as the site reads DATABASE_URL, connections kept"]
