"""Hardened headers and cookies on public and admin pages, with production settings."""

import pytest

from tests.html_inspect import elements
from tests.news_factories import make_article, make_event


@pytest.fixture
def production_like(settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    return settings


def _directives(header):
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_public_page_sends_hardened_headers(client, db, production_like):
    response = client.get("/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_public_csp_allows_no_inline_script_or_foreign_origin(client, db):
    policy = _directives(client.get("/")["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert all("unsafe" not in value for values in policy.values() for value in values)


def test_admin_csp_lets_the_editor_work(staff_client):
    response = staff_client.get("/admin/news/article/add/")
    assert response.status_code == 200
    policy = _directives(response["Content-Security-Policy"])
    assert "'unsafe-inline'" in policy["script-src"]
    assert "'self'" in policy["script-src"]
    assert policy["object-src"] == ["'none'"]
    # The editor's upload dialog frames admin pages; 'none' must not linger beside 'self'.
    assert policy["frame-ancestors"] == ["'self'"]


def test_public_pages_have_no_inline_script_or_style(client, db):
    from regions.models import Region

    article = make_article("Headline")
    event = make_event("Meeting")
    region = Region.objects.create(name="Testholm", slug="testholm", country="Testland")
    for url in ("/", "/news/", article.get_absolute_url(), "/events/", event.get_absolute_url(),
                "/regions/", region.get_absolute_url(), "/regions/compare/", "/search/?q=x"):
        html = client.get(url).content.decode()
        for tag, attrs in elements(html):
            assert not (tag == "script" and "src" not in attrs and attrs.get("type") != "application/ld+json"), url
            assert tag != "style", url
            assert "style" not in attrs, f"{url}: <{tag} style=...>"
            assert not any(name.startswith("on") for name in attrs), url


def test_session_and_csrf_cookies_are_secure_and_session_is_http_only(client, db, production_like, django_user_model):
    django_user_model.objects.create_user("editor", password="correct-horse-battery", is_staff=True)
    login_page = client.get("/admin/login/", secure=True)
    assert login_page.cookies["csrftoken"]["secure"]
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "editor", "password": "correct-horse-battery", "csrfmiddlewaretoken": login_page.cookies["csrftoken"].value},
        secure=True,
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"]
