import pytest


def test_unknown_url_gets_the_site_404_page(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    # It is the site's page, in the site's layout (base.html), not Django's plain one.
    assert 'class="skip-link"' in html
    assert 'aria-label="Main"' in html


@pytest.mark.urls("tests.urls_raising")
def test_server_error_shows_the_site_500_page_without_internals(client, db, settings):
    settings.DEBUG = False
    client.raise_request_exception = False
    response = client.get("/broken/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert 'class="skip-link"' in html
    for leak in ("Traceback", "boom", "secret internals", "RuntimeError", "SECRET_KEY", "DATABASES"):
        assert leak not in html
