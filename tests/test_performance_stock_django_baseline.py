"""The stock Django project that bench/stock_django.py measures beside the site
(bench/stock_django/) is what its docs say: startproject's middleware and apps, and pages that
read the site's own tables: the ten latest published articles (no draft, nothing scheduled)
and the topics. It runs in a child process, with its own settings, on the test database."""

import ast
import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import django
import pytest
from django.db import connection
from django.utils import timezone

from tests.news_factories import make_article, make_draft_article, make_topic
from tests.subprocess_env import PROJECT_DIR, child_env

pytestmark = pytest.mark.django_db(transaction=True)  # committed: the child reads them

STOCK_PROJECT = PROJECT_DIR / "bench" / "stock_django"

_CHILD = """
import json, django
from django.conf import settings
django.setup()
from django.test import Client
client = Client(HTTP_HOST="127.0.0.1")
pages = {path: client.get(path) for path in ("/floor/", "/topics/", "/news/")}
print(json.dumps({
    "status": {path: response.status_code for path, response in pages.items()},
    "content": {path: response.content.decode() for path, response in pages.items()},
    "middleware": settings.MIDDLEWARE,
    "apps": settings.INSTALLED_APPS,
}))
"""


def _stock_pages():
    db = connection.settings_dict
    url = f"postgres://{quote(db['USER'])}:{quote(db['PASSWORD'])}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = child_env({"DATABASE_URL": url, "DJANGO_SECRET_KEY": "stock-project-test-key", "DJANGO_SETTINGS_MODULE": "stock.settings"})
    done = subprocess.run([sys.executable, "-c", _CHILD], cwd=STOCK_PROJECT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _startproject_list(name):
    """The list `name` in the settings `django-admin startproject` writes (this Django's)."""
    template = Path(django.__file__).parent / "conf" / "project_template" / "project_name" / "settings.py-tpl"
    return ast.literal_eval(re.search(rf"^{name} = (\[.*?\])", template.read_text(), re.M | re.S).group(1))


def test_the_stock_project_s_news_page_shows_the_ten_latest_published_articles():
    now = timezone.now()
    published = [make_article(f"Published {number:02}", publish_at=now - timedelta(hours=number)) for number in range(1, 13)]
    make_draft_article("A draft, newer", publish_at=now - timedelta(minutes=5))
    make_article("Scheduled for tomorrow", publish_at=now + timedelta(days=1))

    found = _stock_pages()

    assert found["status"] == {"/floor/": 200, "/topics/": 200, "/news/": 200}
    shown = re.findall(r"<h2><a href=\"/news/([^/]+)/\">", found["content"]["/news/"])
    assert shown == [article.slug for article in published[:10]]
    assert "The lead of Published 01." in found["content"]["/news/"]


def test_the_stock_project_s_topics_page_lists_the_topics():
    make_topic("Smart cities")
    make_topic("Life science")
    content = _stock_pages()["content"]["/topics/"]
    assert re.findall(r"<li>([^<]+)</li>", content) == ["Life science", "Smart cities"]


def test_the_stock_project_has_startproject_s_middleware_and_apps():
    found = _stock_pages()
    assert found["middleware"] == _startproject_list("MIDDLEWARE")
    assert found["apps"] == [*_startproject_list("INSTALLED_APPS"), "pages"]
