"""
An editor's day in a real browser: a member of the Editors group (not a superuser) writes an
article and an event in the admin, formats the body in CKEditor with its toolbar, uploads an
image through the editor's Image dialog, saves a draft the public cannot see, previews it,
publishes it and finds it where visitors look; then adds a figure and a cluster to a region.
"""

import importlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.utils import timezone
from playwright.sync_api import expect

from news.models import Article, Event
from regions.models import Cluster, Figure
from tests.browser.editor import PASSWORD, log_in, type_formatted_body, upload_image_in_editor, wait_for_editor
from tests.upload_files import image_bytes

pytestmark = pytest.mark.browser

editors_migration = importlib.import_module("baltmet.migrations.0001_editors_group")

UPLOADED_IMG = re.compile(r'<img [^>]*src="/media/uploads/[^"]+\.png"')


@pytest.fixture
def editor(seeded, django_user_model):
    """A member of the Editors group with only the group's permissions.

    The group comes from a data migration; live-server tests empty every table after each
    test, so it is rebuilt here from the migration's own list of permissions.
    """
    group, _ = Group.objects.get_or_create(name=editors_migration.GROUP)
    group.permissions.set([
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in editors_migration._codenames()
    ])
    user = django_user_model.objects.create_user("eva", password=PASSWORD, is_staff=True)
    user.groups.add(group)
    return user


@pytest.fixture
def editor_page(site, editor, page):
    log_in(page, site, editor.username)
    return page


@pytest.fixture
def visitor(new_context):
    """A second browser profile, never signed in: what the public sees."""
    return new_context().new_page()


@pytest.fixture
def png_file(tmp_path):
    path = tmp_path / "harbour.png"
    path.write_bytes(image_bytes("PNG", size=(64, 48)))
    return path


def save_and_continue(page):
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator("ul.messagelist li.success")).to_contain_text("was added successfully")


def write_formatted_body(page, png_file, paragraph):
    """Type a body in CKEditor with its toolbar, and upload an image into it through the
    Image dialog: what assert_formatted_body() then finds saved."""
    wait_for_editor(page, "id_body")
    type_formatted_body(
        page, "id_body", heading="Programme", paragraph=paragraph,
        items=["Maritime clusters", "Energy"], link_text="Oslo Teknopol", link_url="https://www.example.org/",
    )
    upload_image_in_editor(page, "id_body", png_file, "Boats in the harbour")


def assert_formatted_body(html):
    """The body as saved (after server-side sanitising) keeps what the editor typed."""
    assert "<h2>Programme</h2>" in html
    assert re.search(r"<ol>\s*<li>Maritime clusters</li>\s*<li>Energy</li>\s*</ol>", html), html
    assert re.search(r'<a href="https://www\.example\.org/"[^>]*>Oslo Teknopol</a>', html), html
    assert UPLOADED_IMG.search(html) and 'alt="Boats in the harbour"' in html, html
    uploaded = re.search(r'src="/media/(uploads/[^"]+)"', html).group(1)
    assert (Path(settings.MEDIA_ROOT) / uploaded).is_file()


def preview_as_editor(page, expected_title):
    """The admin's "View on site" opens the public address, which shows staff a draft banner."""
    page.get_by_role("link", name="View on site").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(expected_title)
    expect(page.locator(".preview-banner")).to_contain_text("this is a draft; only staff can see it")
    page.go_back()


def publish(page):
    page.get_by_label("Status:", exact=True).select_option(label="Published")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("ul.messagelist li.success")).to_contain_text("was changed successfully")


def search_for(visitor, site, words):
    visitor.goto(f"{site}/search/")
    visitor.get_by_label("Search news, events and regions").fill(words)
    visitor.get_by_role("button", name="Search").click()
    return visitor.locator("ol.results")


def test_editor_writes_previews_and_publishes_an_article(site, editor_page, visitor, png_file):
    page = editor_page
    title = "Harbour innovation week in Oslo"
    page.goto(f"{site}/admin/")
    page.locator("#content-main tr.model-article").get_by_role("link", name="Add").click()
    page.get_by_label("Title:", exact=True).press_sequentially(title)
    expect(page.get_by_label("Slug:", exact=True)).to_have_value("harbour-innovation-week-in-oslo")
    page.get_by_label("Lead:", exact=True).fill("Three days on maritime clusters and energy in the Oslo region.")
    write_formatted_body(page, png_file, paragraph="Three days of workshops.")
    page.get_by_label("Lead image:", exact=True).set_input_files(str(png_file))
    page.get_by_label("Lead image alt text:", exact=True).fill("The harbour of Oslo at dawn")
    # The regions widget (filter_horizontal): pick Oslo from the available list, move it over.
    page.locator("#id_regions_from").select_option(label="Oslo")
    page.locator("#id_regions_add").click()
    expect(page.get_by_label("Status:", exact=True)).to_have_value("draft")
    save_and_continue(page)

    article = Article.objects.get(slug="harbour-innovation-week-in-oslo")
    assert article.status == Article.Status.DRAFT
    assert_formatted_body(article.body)
    assert article.image.name.startswith("news/") and article.image_alt == "The harbour of Oslo at dawn"
    assert list(article.regions.values_list("slug", flat=True)) == ["oslo"]

    # A draft: not found by the public, not listed anywhere.
    assert visitor.goto(f"{site}/news/{article.slug}/").status == 404
    visitor.goto(f"{site}/")
    expect(visitor.get_by_text(title)).to_have_count(0)

    preview_as_editor(page, title)
    publish(page)
    article.refresh_from_db()
    assert article.is_published

    # The visitor finds it on the home page and follows "Read more" to the article.
    visitor.goto(f"{site}/")
    teaser = visitor.locator(".home-news article.teaser").first
    expect(teaser.get_by_role("heading")).to_have_text(title)
    teaser.get_by_role("link", name=re.compile(r"^Read more")).click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text(title)
    body = visitor.locator(".rich-text")
    expect(body.get_by_role("heading", level=2, name="Programme")).to_be_visible()
    expect(body.locator("ol > li")).to_have_text(["Maritime clusters", "Energy"])
    expect(body.get_by_role("link", name="Oslo Teknopol")).to_have_attribute("href", "https://www.example.org/")
    inline_image = body.get_by_role("img", name="Boats in the harbour")
    expect(inline_image).to_have_attribute("src", re.compile(r"^/media/uploads/"))
    lead_image = visitor.locator(".lead-image img")
    expect(lead_image).to_have_attribute("alt", "The harbour of Oslo at dawn")
    for image in (inline_image, lead_image):  # both uploads are served and decode as images
        expect(image).not_to_have_js_property("naturalWidth", 0)
    expect(visitor.locator(".preview-banner")).to_have_count(0)

    visitor.goto(f"{site}/news/")
    expect(visitor.locator("article.teaser h2").first).to_have_text(title)
    feed = visitor.request.get(f"{site}/news/feed/")
    assert feed.ok and f"<title>{title}</title>" in feed.text()
    expect(search_for(visitor, site, "harbour innovation").get_by_role("link", name=title)).to_be_visible()
    assert not page.errors, page.errors


def test_editor_writes_previews_and_publishes_an_event(site, editor_page, visitor, png_file):
    page = editor_page
    title = "Oslo cluster matchmaking day"
    day = timezone.localdate() + timedelta(days=30)
    page.goto(f"{site}/admin/")
    page.locator("#content-main tr.model-event").get_by_role("link", name="Add").click()
    page.get_by_label("Title:", exact=True).press_sequentially(title)
    page.get_by_label("Lead:", exact=True).fill("Cluster managers from the Baltic Sea region meet in Oslo.")
    write_formatted_body(page, png_file, paragraph="A day of meetings.")
    # The admin's split date and time fields; a timed event, so "all day" is unticked.
    page.locator("#id_starts_0").fill(day.isoformat())
    page.locator("#id_starts_1").fill("09:00:00")
    page.locator("#id_ends_0").fill(day.isoformat())
    page.locator("#id_ends_1").fill("17:00:00")
    page.get_by_label("All day").uncheck()
    page.get_by_label("Venue:", exact=True).fill("Oslo Science Park")
    page.get_by_label("City:", exact=True).fill("Oslo")
    page.get_by_label("Country:", exact=True).fill("Norway")
    page.get_by_label("Region:", exact=True).select_option(label="Oslo")
    page.get_by_label("Organisers:", exact=True).fill("Oslo Teknopol")
    page.get_by_label("Registration link:", exact=True).fill("www.example.org/register")
    save_and_continue(page)

    event = Event.objects.get(slug="oslo-cluster-matchmaking-day")
    assert event.status == Event.Status.DRAFT and not event.all_day
    assert event.registration_url == "https://www.example.org/register"
    assert_formatted_body(event.body)

    assert visitor.goto(f"{site}/events/{event.slug}/").status == 404
    assert visitor.request.get(f"{site}/events/{event.slug}.ics").status == 404
    visitor.goto(f"{site}/events/")
    expect(visitor.get_by_text(title)).to_have_count(0)

    preview_as_editor(page, title)
    publish(page)

    visitor.goto(f"{site}/")
    upcoming = visitor.locator("section[aria-labelledby=upcoming-events]")
    upcoming.get_by_role("link", name=title).click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text(title)
    expect(visitor.locator(".event-facts")).to_contain_text("09:00 – 17:00")
    expect(visitor.locator(".event-facts").get_by_role("link", name="Oslo")).to_have_attribute("href", "/regions/oslo/")
    expect(visitor.locator(".rich-text").get_by_role("heading", level=2, name="Programme")).to_be_visible()
    with visitor.expect_download() as download_info:
        visitor.get_by_role("link", name="Add to your calendar (.ics)").click()
    ics = Path(download_info.value.path()).read_text()
    assert f"SUMMARY:{title}" in ics and f"DTSTART;TZID=Europe/Berlin:{day:%Y%m%d}T090000" in ics, ics

    visitor.goto(f"{site}/events/")
    expect(visitor.locator("section[aria-labelledby=upcoming-events]").get_by_role("link", name=title)).to_be_visible()
    calendar = visitor.request.get(f"{site}/events/calendar.ics")
    assert calendar.ok and f"SUMMARY:{title}" in calendar.text()
    expect(visitor.locator("a", has_text=title)).to_have_count(1)
    expect(search_for(visitor, site, "matchmaking").get_by_role("link", name=title)).to_be_visible()
    visitor.goto(f"{site}/regions/oslo/")
    expect(visitor.locator("section[aria-labelledby=region-events]").get_by_role("link", name=title)).to_be_visible()
    assert not page.errors, page.errors


def test_editor_adds_a_figure_and_a_cluster_to_a_region(site, editor_page, visitor):
    page = editor_page
    page.goto(f"{site}/admin/")
    page.locator("#content-main tr.model-region").get_by_role("link", name="Regions").click()
    page.get_by_role("link", name="Oslo", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change region")

    # Key figures: a tabular inline with one empty row ready for a new figure.
    figure_row = page.locator("#figures-group tr.form-row:not(.empty-form)").last
    figure_row.locator("select[name$=-metric]").select_option(label="Population (inhabitants)")
    figure_row.locator("input[name$=-value]").fill("717710")
    figure_row.locator("input[name$=-year]").fill("2024")
    figure_row.locator("input[name$=-source]").fill("Statistics Norway")

    # Clusters: a stacked inline; "Add another Cluster" adds an empty one.
    clusters = page.locator("#clusters-group")
    clusters.get_by_role("button", name="Add another Cluster").click()
    new_cluster = clusters.locator(".inline-related.dynamic-clusters").last
    new_cluster.get_by_label("Name:", exact=True).press_sequentially("Space technology")
    expect(new_cluster.get_by_label("Slug:", exact=True)).to_have_value("space-technology")
    new_cluster.get_by_label("Niches:", exact=True).fill("satellite navigation, earth observation")
    new_cluster.get_by_label("Description:", exact=True).fill("Small satellites and the services built on them.")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator("ul.messagelist li.success")).to_contain_text("was changed successfully")

    assert Figure.objects.filter(region__slug="oslo", metric__code="population", year=2024, value=717710).exists()
    assert Cluster.objects.filter(region__slug="oslo", slug="space-technology").exists()

    visitor.goto(f"{site}/regions/oslo/")
    clusters_section = visitor.locator("section[aria-labelledby=region-clusters]")
    expect(clusters_section).to_contain_text("Space technology, with the niches satellite navigation, earth observation")
    size = visitor.locator("section[aria-labelledby=region-size]")
    expect(size).to_contain_text("(2024)")
    visitor.goto(f"{site}/regions/compare/")
    population = visitor.locator("table.compare tr", has=visitor.locator("th", has_text=re.compile(r"^Population\b")))
    expect(population.first).to_contain_text("(2024)")
    assert not page.errors, page.errors
