import pytest

from tests.html_inspect import asset_urls, elements


@pytest.fixture
def home_html(client, db):
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_layout_has_landmarks_and_a_skip_link_to_main(home_html):
    tags = elements(home_html)
    names = [tag for tag, _ in tags]
    assert {"header", "nav", "main", "footer"} <= set(names)
    skip = next(attrs for tag, attrs in tags if tag == "a" and "skip-link" in attrs.get("class", ""))
    main = next(attrs for tag, attrs in tags if tag == "main")
    assert skip["href"] == "#" + main["id"]
    assert names.index("a") < names.index("nav"), "the skip link comes before the navigation"


def test_navigation_links_every_section(home_html):
    nav_html = home_html.split('<nav class="site-nav"', 1)[1].split("</nav>", 1)[0]
    hrefs = [attrs["href"] for tag, attrs in elements(nav_html) if tag == "a"]
    assert hrefs == ["/", "/news/", "/events/", "/regions/", "/search/"]
    for label in ("Home", "News", "Events", "Regions", "Search"):
        assert f">{label}</a>" in nav_html


def test_current_section_is_marked_for_assistive_technology(client, db):
    html = client.get("/news/").content.decode()
    assert '<a href="/news/" aria-current="page">News</a>' in html


def test_every_asset_is_served_by_the_site_itself(home_html):
    urls = asset_urls(home_html)
    assert urls, "the page has at least its stylesheet"
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), f"external asset: {url}"


def test_page_is_responsive_and_declares_its_language(home_html):
    assert '<html lang="en">' in home_html
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in home_html
