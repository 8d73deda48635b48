"""The `sizes` of a lead image (an article's, a region's) says how wide the page shows it, at
every screen width: the browser picks the rendition by it before any CSS has run, so a wrong
`sizes` fetches a larger copy than needed, or a blurred smaller one."""

import pytest

from tests.news_factories import make_article
from tests.regions_factories import make_region
from tests.upload_files import image_bytes, upload

pytestmark = pytest.mark.browser

# Narrow phone, a tablet between the breakpoints (40rem, 51rem at 16px), a desktop.
VIEWPORTS = (320, 375, 700, 800, 900, 1280)

# The width `sizes` gives: its first media condition that matches, or its last length, each
# length measured as the browser computes it.
SIZES_WIDTH = """img => {
    for (const part of img.sizes.split(/,(?![^(]*\\))/)) {
        const match = part.trim().match(/^(\\(.*\\))\\s+(.+)$/);
        if (match && !matchMedia(match[1]).matches) continue;
        const probe = document.createElement("div");
        probe.style.cssText = "position:absolute;visibility:hidden;width:" + (match ? match[2] : part.trim());
        document.body.append(probe);
        const width = probe.getBoundingClientRect().width;
        probe.remove();
        return width;
    }
}"""


@pytest.mark.parametrize("width", VIEWPORTS)
def test_a_lead_images_sizes_is_the_width_the_page_shows_it_at(width, live_server, transactional_db, new_context):
    wide = upload("wide.png", image_bytes("PNG", (2400, 1200)), "image/png")
    article = make_article("With a picture", image=wide, image_alt="A wide picture")
    region = make_region("riga", image=upload("riga.png", image_bytes("PNG", (2400, 1200)), "image/png"), image_alt="Riga")
    page = new_context(viewport={"width": width, "height": 800}).new_page()
    for url in (article.get_absolute_url(), region.get_absolute_url()):
        page.goto(live_server.url + url)
        image = page.locator("main img[sizes]").first
        shown = image.evaluate("img => img.getBoundingClientRect().width")
        said = image.evaluate(SIZES_WIDTH)
        assert shown > 0
        assert abs(shown - said) <= 1, f"{url} at {width}px: shown {shown}px wide, sizes says {said}px"
