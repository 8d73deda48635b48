"""
Full-page screenshots of the home page, an article, a region and the compare page at desktop
and phone widths, written to the git-ignored `screenshots/` folder for a person to look at
(the design is judged by eye; the other browser tests check accessibility and validity).
"""

import struct

import pytest

from tests.browser.conftest import DESKTOP, MOBILE, ROOT

pytestmark = pytest.mark.browser

SCREENSHOTS = ROOT / "screenshots"
PAGES = {
    "home": "/",
    "article": "/news/wp3-cluster-development-final-conference/",
    "region": "/regions/oslo/",
    "compare": "/regions/compare/",
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path):
    """(width, height) of a PNG file, read from its IHDR chunk."""
    header = path.read_bytes()[:24]
    assert header[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["desktop", "375px"])
def test_screenshots_of_the_main_pages(site, new_context, viewport):
    SCREENSHOTS.mkdir(exist_ok=True)
    page = new_context(viewport=viewport).new_page()
    for name, path in PAGES.items():
        response = page.goto(site + path)
        assert response.status == 200, path
        target = SCREENSHOTS / f"{name}-{viewport['width']}.png"
        target.unlink(missing_ok=True)
        page.screenshot(path=target, full_page=True)
        width, height = png_size(target)
        assert width == viewport["width"], (target, width)
        assert height >= viewport["height"], (target, height)
