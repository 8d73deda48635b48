"""A visitor's path through the seed content, clicking as a person does."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from news.models import Article
from regions.models import Region

pytestmark = pytest.mark.browser

LATEST = 'BaltMet Inno WP 3 "Cluster Development" final event conference'


def test_home_read_more_article_region_compare_event_calendar(site, page):
    # No seed article names a region; an editor ticks Oslo on the latest one, as for any news
    # item about a member region.
    Article.objects.get(title=LATEST).regions.add(Region.objects.get(slug="oslo"))

    page.goto(f"{site}/")
    latest = page.locator(".home-news article.teaser").first
    expect(latest.get_by_role("heading")).to_have_text(LATEST)
    # "Read more" names its article for screen readers (in visually hidden text).
    latest.get_by_role("link", name=re.compile(rf"^Read more\s*: {re.escape(LATEST)}$")).click()

    expect(page).to_have_url(f"{site}/news/wp3-cluster-development-final-conference/")
    expect(page.get_by_role("heading", level=1)).to_have_text(LATEST)
    page.locator("ul[aria-labelledby=article-regions]").get_by_role("link", name="Oslo").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Oslo")
    expect(page.locator("section[aria-labelledby=region-news]").get_by_role("link", name=LATEST)).to_have_count(2)
    page.get_by_role("link", name="Compare Oslo with the other regions").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Compare the regions")
    expect(page.locator("table.compare caption")).to_contain_text("Oslo")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Events").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Events")
    past = page.locator("section[aria-labelledby=past-events]")
    event_title = "Transnational Cluster Alliances - Connecting Neighbours in the Baltic Sea Region"
    past.get_by_role("link", name=event_title).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(event_title)
    expect(page.locator(".event-facts")).to_contain_text("13 November 2007")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Add to your calendar (.ics)").click()
    download = download_info.value
    assert download.suggested_filename == "wp3-final-conference-berlin-2007.ics"
    ics = Path(download.path()).read_text()
    assert ics.startswith("BEGIN:VCALENDAR") and "SUMMARY:Transnational Cluster Alliances" in ics
    assert "DTSTART;VALUE=DATE:20071113" in ics
    assert not page.errors, page.errors
