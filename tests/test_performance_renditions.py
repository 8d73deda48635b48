"""Listings and cards show resized renditions of uploaded images, made once with Pillow, with
width, height, srcset and loading="lazy", never the full upload; so do the pages of articles and
regions, loading theirs at once."""

import gc
import hashlib
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
import weakref
import zlib
from datetime import timedelta
from unittest import mock
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.cache.backends import locmem as locmem_backend
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage
from PIL import ExifTags, Image, ImageChops, ImageCms, ImageDraw, ImageFile, PngImagePlugin

from baltmet import cache_failures, renditions
from baltmet.renditions import LEAD, renditions_for
from news.models import Article
from tests.news_factories import make_article
from tests.page_cache_settings import use_local_memory_page_cache
from tests.decoded_uploads import count_decoded_uploads, visitor_at_each_version_change
from tests.redis_for_tests import UnreachableCache
from tests.regions_factories import make_region
from tests.upload_files import image_bytes, png_chunk, raw_png, upload

# As a site does: pages are cached and the version changed only once content is committed.
pytestmark = pytest.mark.django_db(transaction=True)

# In a rendition's name, after its width: the first 12 hex digits of the upload's SHA-256.
FP = r"\.[0-9a-f]{12}"


@pytest.fixture(autouse=True)
def _fresh_cache():
    # What the renditions are is remembered in the cache; each test has its own media folder.
    cache.clear()


def _image(name, fmt, size):
    content_types = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
    return upload(name, image_bytes(fmt, size), content_types[fmt])


def _media(settings, name):
    return Path(settings.MEDIA_ROOT) / name


def client_html(url):
    return Client().get(url).content.decode()


def _img_tags(html):
    return re.findall(r"<img\b[^>]*>", html)


def _fingerprint_of(settings, name):
    return hashlib.sha256(_media(settings, name).read_bytes()).hexdigest()[:12]


def test_saving_an_article_makes_its_renditions(settings):
    article = make_article("Harbour news", image=_image("harbour.jpg", "JPEG", (2000, 1000)), image_alt="The harbour")
    for width in LEAD.widths:  # every width, the lead image's among them
        path = _media(settings, f"renditions/{renditions.ENCODING}/{article.image.name}-{width}w.{_fingerprint_of(settings, article.image.name)}.jpg")
        assert path.exists(), path
        with Image.open(path) as rendition:
            assert rendition.format == "JPEG"
            assert rendition.size == (width, width // 2)


def test_when_the_version_changes_the_new_images_renditions_are_ready(monkeypatch, settings):
    # Made after the commit, they came after the page cache's new version: a visitor's request
    # in between decoded the upload.
    visits = visitor_at_each_version_change(monkeypatch, settings)
    with transaction.atomic():  # as the admin saves
        make_article("Harbour news", image=_image("harbour.jpg", "JPEG", (2000, 1000)), image_alt="The harbour")
    assert visits == [(200, "miss", [])], "the visitor's request decoded the upload"


def test_lists_find_their_images_without_the_lead_images_width(monkeypatch, settings):
    # Images saved before the lead image's 1600 px width (or whatever width it gets next): the
    # cards' renditions made and remembered, the lead image's not. No list decodes an upload.
    for number in range(3):
        article = make_article(f"Item {number}", image=_image(f"item{number}.png", "PNG", (2400, 1200)), image_alt="A picture")
        cache.delete(LEAD.key_for(article.image.name))
    for path in _media(settings, "renditions").rglob("*-1600w.*.png"):
        path.unlink()
    decoded = count_decoded_uploads(monkeypatch)
    html = client_html("/news/")
    assert len(re.findall(rf"-960w{FP}\.png 960w", html)) == 3 and "1600w" not in html
    assert decoded == []
    # The article's own page makes its lead image's 1600 px copy, from the one upload it shows.
    assert re.search(rf"-1600w{FP}\.png 1600w", client_html(article.get_absolute_url()))
    assert decoded == [(2400, 1200)]


def test_no_rendition_is_wider_than_the_upload_and_png_gif_keep_their_format(settings):
    region = make_region("riga", image=_image("map.png", "PNG", (500, 300)), image_alt="Map of Riga")
    assert [(r.width, r.height) for r in renditions_for(region.image)] == [(320, 192), (500, 300)]
    with Image.open(_media(settings, renditions_for(region.image)[-1].name)) as largest:
        assert largest.format == "PNG"

    small = make_article("Tiny", image=_image("tiny.gif", "GIF", (100, 50)), image_alt="A dot")
    (only,) = renditions_for(small.image)
    assert (only.width, only.height) == (100, 50) and re.search(rf"-100w{FP}\.gif$", only.name)
    with Image.open(_media(settings, only.name)) as gif:
        assert gif.format == "GIF"


def _png(image, **options):
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


@pytest.mark.parametrize("mode, transparent, fill", [("RGB", (0, 0, 0), (255, 0, 0)), ("L", 0, 255)])
def test_a_png_with_a_transparent_colour_gets_no_ring_of_it(settings, mode, transparent, fill):
    # As PNG optimisers store a logo whose alpha is all or nothing: a red (white) disc on a
    # colour marked transparent (tRNS), here black.
    logo = Image.new(mode, (800, 400), transparent)
    ImageDraw.Draw(logo).ellipse((100, 50, 700, 350), fill=fill)
    name = "news/2020/01/logo.png"
    _media(settings, name).parent.mkdir(parents=True)
    _media(settings, name).write_bytes(_png(logo, transparency=transparent))
    article = make_article("Logo", image=name, image_alt="Logo")

    for rendition in renditions.make_every_width(article.image):
        with Image.open(_media(settings, rendition)) as file:
            seen = file.convert("RGBA")  # as a browser applies a transparent colour
        shown = seen.getchannel("A").point(lambda alpha: 255 if alpha else 0)
        dark = seen.getchannel("R").point(lambda red: 255 if red < 128 else 0)
        dark_shown = ImageChops.multiply(shown, dark).histogram()[255]
        assert not dark_shown, f"{rendition}: {dark_shown} dark pixels shown"


def test_a_png_keeps_its_gamma_chromaticities_and_srgb_intent_as_it_keeps_its_colour_profile(settings):
    # A PNG with a gamma and no profile is drawn by that gamma (1.0 here: its greys lighter
    # than as sRGB); a rendition without it would be drawn as sRGB.
    stated = PngImagePlugin.PngInfo()
    stated.add(b"gAMA", struct.pack(">I", 100_000))
    stated.add(b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000))
    stated.add(b"sRGB", bytes([1]))  # relative colorimetric
    name = "news/2020/01/chart.png"
    _media(settings, name).parent.mkdir(parents=True)
    _media(settings, name).write_bytes(_png(Image.new("RGB", (800, 400), (128, 128, 128)), pnginfo=stated))
    article = make_article("Chart", image=name, image_alt="A chart")

    for rendition in renditions.make_every_width(article.image):
        with Image.open(_media(settings, rendition)) as file:
            assert file.info.get("gamma") == 1.0, rendition
            assert file.info.get("chromaticity") == (0.3127, 0.329, 0.64, 0.33, 0.3, 0.6, 0.15, 0.06), rendition
            assert file.info.get("srgb") == 1, rendition


def test_a_jpeg_carrying_a_second_picture_gets_jpeg_renditions(settings):
    # A camera's large preview or a phone's HDR gain map, after the photo: Pillow calls it MPO.
    photo = io.BytesIO()
    Image.new("RGB", (2000, 1000), "teal").save(
        photo, "MPO", save_all=True, append_images=[Image.new("RGB", (400, 200), "teal")]
    )
    name = "news/2020/01/quay.jpg"
    _media(settings, name).parent.mkdir(parents=True)
    _media(settings, name).write_bytes(photo.getvalue())
    article = make_article("Quay", image=name, image_alt="The quay")

    made = renditions.make_every_width(article.image)

    assert made and all(name.endswith(".jpg") for name in made)
    for rendition in made:
        with Image.open(_media(settings, rendition)) as file:
            assert file.format == "JPEG" and file.getpixel((5, 5))[2] > 100  # teal


# In a process of its own: its peak resident memory (VmHWM; getrusage()'s is the parent's
# where that was higher, kept across exec) before and after.
_PEAK_GROWTH = """
import re, sys
import django
django.setup()
from django.core.files.storage import FileSystemStorage
from baltmet import renditions

def peak():
    with open("/proc/self/status") as status:
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)) * 1024

class Upload:
    storage, name = FileSystemStorage(location=sys.argv[1]), "photo.jpg"

before = peak()
renditions.make_renditions_in_sets(Upload(), [renditions.LEAD.widths])
print(peak() - before)
"""


def test_making_a_large_photos_renditions_holds_no_second_copy_of_its_pixels(tmp_path):
    # 40 megapixels, the largest accepted (DJANGO_MAX_IMAGE_PIXELS): 160 MB decoded, as RGB
    # takes four bytes a pixel. Made in a visitor's request where renditions are missing.
    photo = Image.new("RGB", (8000, 5000), "teal")
    decoded = 8000 * 5000 * 4
    photo.save(tmp_path / "photo.jpg", "JPEG")
    del photo
    environment = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "baltmet.settings", "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}", "PYTHONPATH": str(Path(__file__).parents[1]),
    }

    child = subprocess.run([sys.executable, "-c", _PEAK_GROWTH, str(tmp_path)], env=environment,
                           capture_output=True, text=True, timeout=120)

    assert child.returncode == 0, child.stderr
    growth = int(child.stdout)
    # The decoded upload once and the resizing's own steps: 1.34 times; a second copy made it 2.34.
    assert growth < 1.8 * decoded, f"peak memory grew by {growth / decoded:.2f} times the decoded picture"


def test_a_16_bit_greyscale_png_has_renditions():
    # A scan or an exported map saved as 16-bit greyscale passes the upload check; Pillow's
    # reduce() (reducing_gap) refuses its mode.
    buffer = io.BytesIO()
    Image.new("I;16", (2000, 1000), 20000).save(buffer, "PNG")
    article = make_article("Scan", image=upload("scan.png", buffer.getvalue(), "image/png"), image_alt="A scan")
    assert [rendition.width for rendition in renditions_for(article.image, LEAD)] == [320, 640, 960, 1600]


def test_a_16_bit_greyscale_png_with_a_transparent_grey_keeps_its_tones(settings):
    # Converted to RGBA to be filtered with its alpha, as 8-bit ones are, its tones would be
    # clipped to 8 bits: a mid grey (30000 of 65535) white.
    scan = Image.new("I", (800, 40), 0)
    scan.paste(30000, (200, 0, 600, 40))  # pasted into I;16, a value keeps its low byte alone
    scan = scan.convert("I;16")
    buffer = io.BytesIO()
    scan.save(buffer, "PNG", transparency=0)
    article = make_article("Scan", image=upload("scan.png", buffer.getvalue(), "image/png"), image_alt="A scan")

    for rendition in renditions_for(article.image, LEAD):
        with Image.open(_media(settings, rendition.name)) as file:
            grey = file.convert("I").getpixel((file.width // 2, file.height // 2))
            assert 100 < (grey if file.mode in ("L", "LA", "RGB", "RGBA") else grey * 255 / 65535) < 135, rendition.name


def _grey_colour_profile():
    """The least ICC profile of a grey display: a header saying so, and no tags."""
    header = bytearray(128)
    struct.pack_into(">I", header, 0, 132)
    header[12:16], header[16:20], header[20:24], header[36:40] = b"mntr", b"GRAY", b"XYZ ", b"acsp"
    return bytes(header) + struct.pack(">I", 0)


def test_a_grey_png_with_a_transparent_grey_and_a_grey_profile_stays_grey(settings):
    # The PNG spec allows a grey profile on a grey PNG alone; on RGBA, browsers drop it.
    logo = Image.new("L", (800, 400), 0)
    ImageDraw.Draw(logo).ellipse((100, 50, 700, 350), fill=200)
    name = "news/2020/01/grey.png"
    _media(settings, name).parent.mkdir(parents=True)
    _media(settings, name).write_bytes(_png(logo, transparency=0, icc_profile=_grey_colour_profile()))
    article = make_article("Grey", image=name, image_alt="Grey")

    for rendition in renditions.make_every_width(article.image):
        with Image.open(_media(settings, rendition)) as file:
            assert file.mode in ("L", "LA") and file.info.get("icc_profile") == _grey_colour_profile(), rendition
            assert file.getchannel("A" if file.mode == "LA" else "L").getextrema()[0] == 0  # still see-through


def _raw_png(width, height, depth, colour_type, row, *chunks):
    """A PNG of `height` copies of `row`, written byte by byte (raw_png())."""
    return raw_png(width, height, depth, colour_type, zlib.compress((b"\x00" + row) * height), *chunks)


def _packed(values, depth):
    bits = "".join(format(value, f"0{depth}b") for value in values)
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[start : start + 8], 2) for start in range(0, len(bits), 8))


def _renditions_of_png(settings, data):
    name = "news/2020/01/upload.png"
    _media(settings, name).parent.mkdir(parents=True, exist_ok=True)
    _media(settings, name).write_bytes(data)
    made = renditions.make_every_width(make_article("Upload", image=name, image_alt="Upload").image)
    assert made
    for rendition in sorted(made):
        with Image.open(_media(settings, rendition)) as file:
            file.load()
            yield rendition, file


def _alpha_at(file, x, y):
    return file.convert("RGBA").getpixel((x, y))[3]


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_a_grey_png_of_fewer_bits_keeps_its_transparent_white_see_through(settings, depth):
    # Pillow gives the transparent grey as stored (1, 3, 15) and the pixels as 8-bit (255).
    white = 2**depth - 1
    row = _packed([0] * 400 + [white] * 400, depth)
    data = _raw_png(800, 40, depth, 0, row, (b"tRNS", struct.pack(">H", white)))
    for rendition, file in _renditions_of_png(settings, data):
        assert _alpha_at(file, file.width // 4, file.height // 2) == 255, rendition  # black: opaque
        assert _alpha_at(file, 3 * file.width // 4, file.height // 2) == 0, rendition  # white: see-through


def test_a_16_bit_full_colour_png_keeps_its_transparent_colour_see_through(settings):
    orange = (65535, 32767, 0)  # its bytes unalike: the 8-bit pixels are not it
    row = struct.pack(">HHH", 0, 0, 0) * 400 + struct.pack(">HHH", *orange) * 400
    data = _raw_png(800, 40, 16, 2, row, (b"tRNS", struct.pack(">HHH", *orange)))
    for rendition, file in _renditions_of_png(settings, data):
        assert _alpha_at(file, file.width // 4, file.height // 2) == 255, rendition
        assert _alpha_at(file, 3 * file.width // 4, file.height // 2) == 0, rendition


def test_an_opaque_16_bit_grey_scan_with_a_transparent_black_gets_no_holes(settings):
    # Next to dark strokes the filter undershoots to 0, the transparent grey, unless the alpha
    # is made from the upload's own pixels first.
    scan = Image.new("I", (1600, 400), 65535)
    draw = ImageDraw.Draw(scan)
    for x in range(100, 1500, 40):
        draw.rectangle((x, 100, x + 6, 300), fill=800)
    data = _png(scan.convert("I;16"), transparency=0)
    for rendition, file in _renditions_of_png(settings, data):
        assert file.convert("RGBA").getchannel("A").getextrema()[0] == 255, rendition


def test_a_png_with_a_chunk_before_its_header_keeps_its_transparent_colour(settings):
    # Pillow reads it, the bytes where IHDR's bit depth and colour type would be are another
    # chunk's: here they would say 16-bit full colour, and the transparent white became black.
    row = bytes([0, 0, 0]) * 400 + bytes([255, 255, 255]) * 400
    good = _raw_png(800, 40, 8, 2, row, (b"tRNS", struct.pack(">HHH", 255, 255, 255)))
    data = good[:8] + png_chunk(b"prVt", bytes(8) + b"\x10\x02") + good[8:]
    for rendition, file in _renditions_of_png(settings, data):
        assert _alpha_at(file, file.width // 4, file.height // 2) == 255, rendition  # black: opaque
        assert _alpha_at(file, 3 * file.width // 4, file.height // 2) == 0, rendition  # white: see-through


@pytest.mark.parametrize("transparency", [0, None], ids=["black see-through", "opaque"])
def test_a_1_bit_png_stays_grey_with_its_grey_profile_and_its_white(settings, transparency):
    logo = Image.new("1", (800, 400), 1)
    ImageDraw.Draw(logo).ellipse((100, 50, 700, 350), fill=0)
    options = {"icc_profile": _grey_colour_profile()}
    if transparency is not None:
        options["transparency"] = transparency
    for rendition, file in _renditions_of_png(settings, _png(logo, **options)):
        assert file.mode in ("L", "LA") and file.info.get("icc_profile") == _grey_colour_profile(), rendition
        assert file.convert("L").getpixel((2, 2)) == 255, rendition  # a palette made it 254


def test_webp_stays_webp():
    article = make_article("Web", image=_image("web.webp", "WEBP", (800, 400)), image_alt="Web")
    renditions = renditions_for(article.image)
    assert [r.width for r in renditions] == [320, 640, 800]
    assert all(r.name.endswith(".webp") for r in renditions)


def test_the_news_list_shows_a_rendition_with_srcset_size_and_lazy_loading(client):
    article = make_article("Harbour news", image=_image("harbour.jpg", "JPEG", (2000, 1000)), image_alt="The harbour")
    html = client.get("/news/").content.decode()
    (img,) = _img_tags(html)
    assert 'loading="lazy"' in img
    assert 'width="320"' in img and 'height="160"' in img
    assert 'alt="The harbour"' in img
    srcset = re.search(r'srcset="([^"]+)"', img).group(1)
    assert [part.split()[1] for part in srcset.split(", ")] == ["320w", "640w", "960w"]
    # .teaser-image is 10rem, or 40% of its column where that is less (site.css).
    assert 'sizes="(min-width: 25rem) 10rem, 40vw"' in img
    # Never the full upload.
    assert article.image.url not in html
    assert re.search(rf'src="/media/renditions/{renditions.ENCODING}/news/[^"]+-320w{FP}\.jpg"', img)


def test_the_home_page_and_region_list_use_renditions_too(client):
    make_article("Harbour news", image=_image("harbour.jpg", "JPEG", (1200, 800)), image_alt="The harbour")
    region = make_region("oslo", image=_image("oslo.jpg", "JPEG", (1600, 900)), image_alt="Oslo from the fjord")
    (home_img,) = _img_tags(client.get("/").content.decode())
    assert re.search(rf"-320w{FP}\.jpg", home_img) and 'loading="lazy"' in home_img
    assert 'sizes="(min-width: 25rem) 10rem, 40vw"' in home_img
    regions_html = client.get("/regions/").content.decode()
    (card,) = _img_tags(regions_html)
    assert 'alt="Oslo from the fjord"' in card and 'width="320"' in card and 'height="180"' in card
    assert 'sizes="(min-width: 30rem) 12rem, 40vw"' in card  # .card-image: 12rem, or 40% of its column
    assert region.image.url not in regions_html


def test_an_articles_page_shows_its_image_as_renditions_loaded_at_once(client):
    article = make_article("Harbour news", image=_image("harbour.jpg", "JPEG", (2400, 1200)), image_alt="The harbour")
    html = client.get(article.get_absolute_url()).content.decode()
    (img,) = _img_tags(html)
    assert re.search(rf'src="/media/renditions/{renditions.ENCODING}/news/[^"]+-1600w{FP}\.jpg"', img)
    srcset = re.search(r'srcset="([^"]+)"', img).group(1)
    assert [part.split()[1] for part in srcset.split(", ")] == ["320w", "640w", "960w", "1600w"]
    # As wide as its largest rendition, which the column then bounds: not the 320 of a teaser.
    assert 'width="1600"' in img and 'height="800"' in img
    assert 'sizes="(min-width: 51rem) 48rem, (min-width: 40rem) calc(100vw - 3rem), calc(100vw - 2rem)"' in img
    assert "loading=" not in img  # what the visitor sees first is not put off
    assert 'alt="The harbour"' in img
    assert article.image.url not in img  # the upload stays for og:image alone


def test_a_regions_page_shows_its_image_as_renditions_never_wider_than_the_upload(client):
    region = make_region("riga", image=_image("riga.png", "PNG", (500, 300)), image_alt="Map of Riga")
    html = client.get(region.get_absolute_url()).content.decode()
    (img,) = _img_tags(html)
    assert 'class="lead-image"' in img and 'alt="Map of Riga"' in img
    assert 'width="500" height="300"' in img
    assert re.search(rf"-500w{FP}\.png", img) and re.search(rf"-320w{FP}\.png 320w", img)
    assert region.image.url not in img


def test_a_page_whose_image_has_no_renditions_shows_no_empty_figure(client, settings):
    article = make_article("Gone", image=_image("gone.jpg", "JPEG", (800, 400)), image_alt="Gone")
    cache.clear()
    for path in Path(settings.MEDIA_ROOT).rglob("*.jpg"):
        path.unlink()
    html = client.get(article.get_absolute_url()).content.decode()
    assert "<img" not in html and "lead-image" not in html


def test_renditions_are_made_once(monkeypatch):
    article = make_article("Once", image=_image("once.jpg", "JPEG", (1000, 500)), image_alt="Once")
    made = renditions_for(article.image)

    def no_second_time(*args, **kwargs):
        raise AssertionError("a rendition was made again")

    monkeypatch.setattr(renditions, "put_whole", no_second_time)
    monkeypatch.setattr(default_storage, "save", no_second_time)
    cache.clear()  # even when nothing is remembered, existing files are not made again
    assert renditions_for(article.image) == made
    # And once remembered, showing them needs no file access at all.
    monkeypatch.setattr(default_storage, "exists", no_second_time)
    monkeypatch.setattr(default_storage, "open", no_second_time)
    assert renditions_for(article.image) == made


def test_a_missing_upload_shows_no_image_rather_than_a_broken_one(client, settings):
    article = make_article("Lost", image=_image("lost.jpg", "JPEG", (1000, 500)), image_alt="Lost")
    cache.clear()
    for path in Path(settings.MEDIA_ROOT).rglob("*.jpg"):
        path.unlink()
    response = client.get("/news/")
    assert response.status_code == 200
    assert _img_tags(response.content.decode()) == []
    assert article.title in response.content.decode()


def test_with_the_cache_failing_images_are_saved_and_pages_show_their_renditions(client, monkeypatch):
    failing = UnreachableCache()
    monkeypatch.setattr(renditions, "cache", failing)
    make_article("Saved while Redis is down", image=_image("down.jpg", "JPEG", (1200, 600)), image_alt="Down")
    assert failing.asked, "the cache was tried"
    assert cache_failures.resting("default")
    response = client.get("/news/")
    assert response.status_code == 200
    (img,) = _img_tags(response.content.decode())
    assert re.search(rf"-320w{FP}\.jpg", img) and 'width="320"' in img


def test_after_the_cache_failed_renditions_do_not_ask_it_for_a_moment(monkeypatch):
    article = make_article("Shown while resting", image=_image("rest.jpg", "JPEG", (1000, 500)), image_alt="Rest")
    made = renditions_for(article.image)
    failing = UnreachableCache()
    monkeypatch.setattr(renditions, "cache", failing)
    cache_failures.record("default", ConnectionError("Redis is down"))
    assert renditions_for(article.image) == made
    assert failing.asked == []


@pytest.mark.parametrize("name, fmt", [("big.jpg", "JPEG"), ("map.png", "PNG"), ("chart.webp", "WEBP"), ("logo.gif", "GIF")])
def test_showing_renditions_that_exist_does_not_decode_the_upload(monkeypatch, name, fmt):
    article = make_article("Big picture", image=_image(name, fmt, (2000, 1000)), image_alt="Big")
    made = renditions_for(article.image)

    def no_decoding(*args, **kwargs):
        raise AssertionError("the upload was decoded")

    monkeypatch.setattr(renditions, "_upright", no_decoding)
    monkeypatch.setattr(Image.Image, "load", no_decoding)
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    cache.clear()  # as with the cache unreachable: looked up on disk
    assert renditions_for(article.image) == made


@pytest.mark.parametrize("name, fmt", [("portrait.jpg", "JPEG"), ("portrait.png", "PNG"), ("portrait.webp", "WEBP")])
def test_a_photo_stored_turned_has_upright_renditions(settings, name, fmt):
    photo = Image.new("RGB", (1000, 500), "navy")
    photo.paste("orange", (0, 0, 100, 500))  # the left edge, which ends up on top
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: shown a quarter turn clockwise, 500 wide and 1000 high
    buffer = io.BytesIO()
    photo.save(buffer, fmt, exif=exif)
    article = make_article("Portrait", image=upload(name, buffer.getvalue(), f"image/{fmt.lower()}"), image_alt="Portrait")
    made = renditions_for(article.image)
    assert [(rendition.width, rendition.height) for rendition in made] == [(320, 640), (500, 1000)]
    for rendition in made:
        with Image.open(_media(settings, rendition.name)) as file:
            assert file.size == (rendition.width, rendition.height)
            top, bottom = file.convert("RGB").getpixel((file.width // 2, 5)), file.convert("RGB").getpixel((file.width // 2, file.height - 5))
            assert top[0] > 200 and bottom[2] > 80, (top, bottom)  # orange on top, navy below
    cache.clear()
    assert renditions_for(article.image) == made, "the same sizes when they exist"


XMP_TURNED = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>'
)


@pytest.mark.parametrize("with_exif", [False, True], ids=["no-exif", "exif-without-orientation"])
def test_a_jpeg_turned_only_in_its_xmp_has_renditions_as_browsers_show_it_unturned(settings, with_exif):
    # Browsers turn a JPEG by its EXIF orientation alone; Pillow's getexif() falls back on XMP's.
    options = {"xmp": XMP_TURNED}
    if with_exif:
        options["exif"] = Image.Exif()
        options["exif"][ExifTags.Base.Make] = "Camera"
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 600), "navy").save(buffer, "JPEG", **options)
    with Image.open(buffer) as saved:
        assert ("exif" in saved.info) == with_exif and saved.getexif()[ExifTags.Base.Orientation] == 6
    article = make_article("Wide", image=upload("wide.jpg", buffer.getvalue(), "image/jpeg"), image_alt="Wide")
    made = renditions_for(article.image)
    assert [(rendition.width, rendition.height) for rendition in made] == [(320, 160), (640, 320), (960, 480)]
    for rendition in made:
        with Image.open(_media(settings, rendition.name)) as file:
            assert file.size == (rendition.width, rendition.height)


def test_a_jpeg_whose_exif_block_cannot_be_read_has_renditions_unturned(settings):
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 600), "navy").save(buffer, "JPEG", exif=b"Exif\x00\x00not a TIFF header at all")
    article = make_article("Odd", image=upload("odd.jpg", buffer.getvalue(), "image/jpeg"), image_alt="Odd")
    made = renditions_for(article.image)
    assert [(rendition.width, rendition.height) for rendition in made] == [(320, 160), (640, 320), (960, 480)]


def test_a_rendition_cut_short_while_written_is_never_left_in_place(monkeypatch, settings):
    article = make_article("Half", image=_image("half.jpg", "JPEG", (1000, 500)), image_alt="Half")
    made = renditions_for(article.image)
    _media(settings, made[0].name).unlink()
    cache.clear()
    real_fdopen = renditions.os.fdopen

    class DiskFull:
        def __init__(self, handle, mode):
            self.file = real_fdopen(handle, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            self.file.close()

        def write(self, data):
            self.file.write(data[:200])
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(renditions.os, "fdopen", DiskFull)
    assert renditions_for(article.image) == []
    monkeypatch.undo()
    assert not _media(settings, made[0].name).exists()
    assert not [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.name.endswith(".part")]
    cache.clear()
    remade = renditions_for(article.image)  # on the next page, made whole
    assert remade == made
    with Image.open(_media(settings, remade[0].name)) as file:
        file.load()


def test_an_image_without_renditions_is_not_tried_again_on_every_page(monkeypatch, settings):
    article = make_article("Broken", image=_image("broken.jpg", "JPEG", (800, 600)), image_alt="Broken")
    cache.clear()
    for path in Path(settings.MEDIA_ROOT).rglob("*.jpg"):
        path.write_bytes(path.read_bytes()[:300])  # the upload, and its renditions, cut short
    for path in Path(settings.MEDIA_ROOT, "renditions").rglob("*.jpg"):
        path.unlink()
    attempts = _counting_reads(monkeypatch)
    for _ in range(3):
        assert renditions_for(article.image) == []
    assert len(attempts) == 1


def test_what_renditions_there_are_is_remembered_for_a_day_not_for_ever(monkeypatch, settings):
    # Should the files go (a media folder restored without them), pages show them again within a day.
    article = make_article("Restored", image=_image("restored.jpg", "JPEG", (1000, 500)), image_alt="Restored")
    made = renditions_for(article.image)
    for rendition in made:
        _media(settings, rendition.name).unlink()
    assert renditions_for(article.image) == made  # remembered: not looked for on disk
    a_day_later = time.time() + 24 * 3600 + 1
    monkeypatch.setattr(locmem_backend.time, "time", lambda: a_day_later)
    assert renditions_for(article.image) == made
    monkeypatch.undo()
    assert all(_media(settings, rendition.name).exists() for rendition in made)


@pytest.mark.parametrize("name, fmt", [("p3.jpg", "JPEG"), ("p3.webp", "WEBP"), ("p3.png", "PNG")])
def test_renditions_keep_the_uploads_colour_profile(settings, name, fmt):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()  # standing in for Display P3
    buffer = io.BytesIO()
    Image.new("RGB", (1000, 500), (200, 30, 30)).save(buffer, fmt, icc_profile=profile)
    article = make_article("Colour", image=upload(name, buffer.getvalue(), f"image/{fmt.lower()}"), image_alt="Colour")
    for rendition in renditions_for(article.image):
        with Image.open(_media(settings, rendition.name)) as file:
            assert file.info.get("icc_profile") == profile, rendition.name


def test_a_cmyk_photo_gets_rgb_renditions_without_its_cmyk_profile(settings):
    cmyk_profile = b"\0" * 128 + b"acsp"  # only its presence matters here
    buffer = io.BytesIO()
    Image.new("CMYK", (800, 400), (0, 200, 200, 0)).save(buffer, "JPEG", icc_profile=cmyk_profile)
    article = make_article("Print", image=upload("print.jpg", buffer.getvalue(), "image/jpeg"), image_alt="Print")
    for rendition in renditions_for(article.image):
        with Image.open(_media(settings, rendition.name)) as file:
            assert file.mode == "RGB" and "icc_profile" not in file.info


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_an_animations_renditions_show_its_first_frame(settings, fmt):
    frames = [Image.new("RGB", (800, 400), colour) for colour in ("red", "blue", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    extension = fmt.lower()
    article = make_article("Moving", image=upload(f"moving.{extension}", buffer.getvalue(), f"image/{extension}"),
                           image_alt="Moving")
    made = renditions_for(article.image)
    assert made
    for rendition in made:
        with Image.open(_media(settings, rendition.name)) as file:
            red, _, blue = file.convert("RGB").getpixel((5, 5))
        assert red > 200 and blue < 50, (rendition.name, red, blue)


@pytest.mark.parametrize("name, fmt", [("stripes.png", "PNG"), ("stripes.gif", "GIF")])
def test_a_palette_image_is_resized_with_a_filter_not_nearest_neighbour(settings, name, fmt):
    stripes = Image.new("L", (2000, 1000), 0)
    for x in range(0, 2000, 2):
        stripes.paste(255, (x, 0, x + 1, 1000))
    buffer = io.BytesIO()
    stripes.convert("P").save(buffer, fmt)
    article = make_article("Stripes", image=upload(name, buffer.getvalue(), f"image/{fmt.lower()}"), image_alt="Stripes")
    smallest = renditions_for(article.image)[0]
    with Image.open(_media(settings, smallest.name)) as file:
        assert file.format == fmt and file.mode == "P"  # still a palette image, as small
        values = set(file.convert("L").tobytes())
    assert values - {0, 255}, "only black and white: resized by nearest neighbour, aliased"


def test_imported_images_named_alike_never_share_renditions(settings):
    folder = _media(settings, "news/2020/01")
    folder.mkdir(parents=True)
    for name, colour in (("harbour.jpg", "red"), ("harbour.jpeg", "blue")):
        Image.new("RGB", (800, 400), colour).save(folder / name, "JPEG")
    red = make_article("Red", image="news/2020/01/harbour.jpg", image_alt="Red")
    blue = make_article("Blue", image="news/2020/01/harbour.jpeg", image_alt="Blue")
    red_names, blue_names = ({r.name for r in renditions_for(a.image)} for a in (red, blue))
    assert red_names.isdisjoint(blue_names)
    for rendition in renditions_for(blue.image):
        with Image.open(_media(settings, rendition.name)) as file:
            assert file.convert("RGB").getpixel((5, 5))[2] > 200  # blue, not the red picture


def test_an_imported_image_whose_name_is_near_the_disks_limit_gets_renditions(client, settings):
    folder = _media(settings, "news/2020/01")
    folder.mkdir(parents=True)
    stem = "港口" * 40  # 80 characters, 240 bytes in UTF-8: with "-1600w.<fingerprint>.jpg", 265
    picture = image_bytes("JPEG", (2000, 1000))
    names = [f"{stem}.jpg", f"{stem}.jpeg"]  # alike up to where they are cut
    for name in names:
        (folder / name).write_bytes(picture)
    articles = [make_article(f"Harbour {n}", image=f"news/2020/01/{name}", image_alt="The harbour")
                for n, name in enumerate(names)]

    made = [renditions.make_every_width(article.image) for article in articles]

    assert None not in made and made[0].isdisjoint(made[1])
    for name in made[0] | made[1]:
        assert len(os.path.basename(name).encode()) <= renditions.NAME_MAX
        assert _media(settings, name).is_file()
    (img,) = _img_tags(client.get(articles[0].get_absolute_url()).content.decode())
    srcset = re.search(r'srcset="([^"]+)"', img).group(1)
    assert [part.split()[1] for part in srcset.split(", ")] == ["320w", "640w", "960w", "1600w"]
    # Every image has its renditions: deleting the unused ones is not refused.
    call_command("make_renditions", "--delete-unused", stdout=io.StringIO())


class _CountingCache:
    def __init__(self, requests):
        self.requests = requests

    def __getattr__(self, name):
        operation = getattr(cache, name)

        def counted(*args, **kwargs):
            self.requests.append(name)
            return operation(*args, **kwargs)

        return counted


@pytest.mark.parametrize("url", ["/news/", "/regions/"])
def test_a_list_looks_up_the_renditions_of_all_its_images_in_one_cache_request(client, monkeypatch, url):
    for number in range(6):
        image = _image(f"story{number}.png", "PNG", (400, 200))
        if url == "/news/":
            make_article(f"Story {number}", image=image, image_alt=f"Story {number}")
        else:
            make_region(f"region-{number}", name=f"Region {number}", image=image, image_alt=f"Region {number}")
    requests = []
    monkeypatch.setattr(renditions, "cache", _CountingCache(requests))
    response = client.get(url)
    assert len(_img_tags(response.content.decode())) == 6
    assert requests == ["get_many"]


@pytest.mark.parametrize("name, fmt", [("logo.png", "PNG"), ("logo.gif", "GIF")])
def test_a_transparent_palette_image_keeps_its_opaque_parts_opaque(settings, name, fmt):
    logo = Image.new("P", (1000, 500), 0)
    logo.putpalette([255, 255, 255, 200, 30, 30] + [0] * 762)
    logo.paste(1, (100, 100, 400, 400))
    buffer = io.BytesIO()
    logo.save(buffer, fmt, transparency=0)
    article = make_article("Logo", image=upload(name, buffer.getvalue(), f"image/{fmt.lower()}"), image_alt="Logo")
    smallest = renditions_for(article.image)[0]
    with Image.open(_media(settings, smallest.name)) as file:
        rgba = file.convert("RGBA")
    assert rgba.getpixel((5, 5))[3] == 0  # transparent stays transparent
    assert rgba.getpixel((80, 80)) == (200, 30, 30, 255)  # opaque stays opaque


def test_an_unreadable_cache_entry_does_not_make_the_cache_rest(monkeypatch):
    article = make_article("Odd entry", image=_image("odd.jpg", "JPEG", (1000, 500)), image_alt="Odd")

    class Garbled:
        def get(self, *args, **kwargs):
            raise ValueError("cannot unpickle")

        def set_many(self, *args, **kwargs):
            return []

    monkeypatch.setattr(renditions, "cache", Garbled())
    assert renditions_for(article.image)
    assert not cache_failures.resting("default")


def _replace_picture(settings, name, colour, size):
    Image.new("RGB", size, colour).save(_media(settings, name), "JPEG")


def _is_blue(path):
    with Image.open(path) as file:
        red, _, blue = file.convert("RGB").getpixel((5, 5))
    return blue > 200 and red < 50


def test_a_picture_copied_over_its_upload_gets_renditions_of_its_own_on_the_next_save(settings):
    # An import ships a corrected picture under the name of the one it replaces and loads the
    # fixture again (docs/importing.md: rsync, then loaddata), which saves the article again.
    _media(settings, "news/2020/01").mkdir(parents=True)
    _replace_picture(settings, "news/2020/01/harbour.jpg", "red", (2000, 1000))
    article = make_article("Harbour", image="news/2020/01/harbour.jpg", image_alt="The harbour")
    old = {widths: renditions_for(article.image, widths) for widths in (renditions.CARDS, LEAD)}

    _replace_picture(settings, "news/2020/01/harbour.jpg", "blue", (1000, 2000))
    article.save()

    for widths, sizes in ((renditions.CARDS, [(320, 640), (640, 1280), (960, 1920)]), (LEAD, [(320, 640), (640, 1280), (960, 1920), (1000, 2000)])):
        new = renditions_for(article.image, widths)
        assert [(r.width, r.height) for r in new] == sizes
        # New addresses: a browser or proxy that kept the old picture's files fetches these.
        assert {r.url for r in new}.isdisjoint(r.url for r in old[widths])
        for rendition in new:
            with Image.open(_media(settings, rendition.name)) as file:
                assert file.size == (rendition.width, rendition.height)
            assert _is_blue(_media(settings, rendition.name)), rendition.name
    (img,) = _img_tags(client_html("/news/"))
    assert f'src="{renditions_for(article.image)[0].url}"' in img and 'width="320" height="640"' in img


def test_a_picture_copied_over_its_upload_shows_at_the_next_page_whatever_the_cache_remembers(settings):
    # The cache keeps the old picture's renditions, as a process's local memory does when
    # another process (loaddata, another worker) saved: the upload's file is looked at.
    _media(settings, "news/2020/01").mkdir(parents=True)
    _replace_picture(settings, "news/2020/01/quay.jpg", "red", (2000, 1000))
    article = make_article("Quay", image="news/2020/01/quay.jpg", image_alt="The quay")
    old = _media(settings, "news/2020/01/quay.jpg").stat()
    assert renditions_for(article.image)[0].width == 320
    copy = _media(settings, "news/2020/01/quay-new.jpg")
    Image.new("RGB", (1000, 2000), "blue").save(copy, "JPEG")
    os.utime(copy, ns=(old.st_atime_ns, old.st_mtime_ns))  # as `rsync -a` keeps the source's time
    copy.replace(_media(settings, "news/2020/01/quay.jpg"))  # and renames its copy into place
    new = renditions_for(article.image)
    assert [(r.width, r.height) for r in new] == [(320, 640), (640, 1280), (960, 1920)]
    assert all(_is_blue(_media(settings, rendition.name)) for rendition in new)


def test_what_older_processes_remember_is_neither_read_nor_written(settings):
    # During a deploy, processes of the release before (renditions named by the upload alone,
    # remembered as lists under keys of their own) share the cache with the new ones.
    article = make_article("Older", image=_image("older.jpg", "JPEG", (1000, 500)), image_alt="Older")
    name = f"renditions/{article.image.name}-320w.jpg"
    theirs = [renditions.Rendition(name, f"/media/{name}", 320, 160)]
    old_key = f"renditions:v3:{article.image.name}"
    cache.set(old_key, theirs)
    made = renditions_for(article.image)
    assert made and made != theirs
    assert cache.get(old_key) == theirs


def test_the_picture_drawn_is_the_one_whose_fingerprint_names_it(monkeypatch, settings):
    # A picture written over the upload in place (cp, rsync --inplace) while its renditions
    # are made: the files named after the old bytes must not hold the new picture.
    _media(settings, "news/2020/01").mkdir(parents=True)
    _replace_picture(settings, "news/2020/01/pier.jpg", "red", (2000, 1000))
    article = make_article("Pier", image="news/2020/01/pier.jpg", image_alt="The pier")
    shutil.rmtree(_media(settings, "renditions"))
    cache.clear()
    real = renditions._fingerprint_and_bytes

    def then_written_over(*args):
        read = real(*args)
        _replace_picture(settings, "news/2020/01/pier.jpg", "blue", (1000, 2000))
        return read

    monkeypatch.setattr(renditions, "_fingerprint_and_bytes", then_written_over)
    made = renditions_for(article.image)
    assert [(r.width, r.height) for r in made] == [(320, 160), (640, 320), (960, 480)]
    assert not any(_is_blue(_media(settings, r.name)) for r in made)


def test_a_good_picture_copied_over_a_broken_one_shows_without_waiting_for_the_retry(settings):
    _media(settings, "news/2020/01").mkdir(parents=True)
    _media(settings, "news/2020/01/broken.jpg").write_bytes(b"not a picture")
    article = Article(title="Broken", image="news/2020/01/broken.jpg")
    assert renditions_for(article.image) == []  # remembered for five minutes
    _replace_picture(settings, "news/2020/01/broken.jpg", "blue", (800, 400))
    assert [r.width for r in renditions_for(article.image)] == [320, 640, 800]


def test_make_renditions_makes_the_missing_ones_before_a_visitor_needs_them(monkeypatch, settings):
    article = make_article("Harbour news", image=_image("harbour.jpg", "JPEG", (2000, 1000)), image_alt="The harbour")
    region = make_region("oslo", image=_image("oslo.png", "PNG", (1200, 600)), image_alt="Oslo")
    shutil.rmtree(_media(settings, "renditions"))  # as after an upgrade that names them anew
    cache.clear()
    out = io.StringIO()
    call_command("make_renditions", stdout=out)
    assert out.getvalue() == f"Renditions of 2 of 2 images are in place, in renditions/{renditions.ENCODING}/.\n"

    decoded = count_decoded_uploads(monkeypatch)
    for url in ("/news/", article.get_absolute_url(), "/regions/", region.get_absolute_url()):
        assert _img_tags(client_html(url)), url
    assert decoded == [], "a visitor's request made renditions"
    call_command("make_renditions", stdout=io.StringIO())
    assert decoded == [], "renditions on disk were made again"


def test_make_renditions_names_the_images_it_cannot_make_and_makes_the_others(settings):
    make_article("Broken", image=_image("broken.jpg", "JPEG", (800, 400)), image_alt="Broken")
    fine = make_article("Fine", image=_image("fine.jpg", "JPEG", (800, 400)), image_alt="Fine")
    broken = Article.objects.get(title="Broken").image.name
    _media(settings, broken).write_bytes(b"not a picture any more")
    shutil.rmtree(_media(settings, "renditions"))
    cache.clear()
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 of 2 images have no renditions"):
        call_command("make_renditions", stdout=io.StringIO(), stderr=err)
    assert broken in err.getvalue() and fine.image.name not in err.getvalue()
    assert [_media(settings, r.name).is_file() for r in renditions_for(fine.image)] == [True, True, True]


def test_a_picture_copied_in_over_the_pixel_limit_is_never_decoded_and_has_no_renditions(monkeypatch, settings, caplog):
    # Copied into the media folder without loaddata, it passed no upload check: only Pillow's
    # own limit, 89 megapixels and more, stood before decoding it in a visitor's request.
    name = "news/2020/01/huge.png"
    _media(settings, name).parent.mkdir(parents=True)
    _media(settings, name).write_bytes(image_bytes("PNG", (800, 400)))
    settings.MAX_IMAGE_PIXELS = 800 * 400 - 1
    decoded = count_decoded_uploads(monkeypatch)
    article = make_article("Huge", image=name, image_alt="Huge")
    assert renditions_for(article.image) == [] and renditions_for(article.image, LEAD) == []
    assert decoded == []
    assert not _media(settings, "renditions").exists()
    [logged, *_] = [record for record in caplog.records if record.name == "baltmet.renditions"]
    assert logged.getMessage() == f"no renditions for {name}: it cannot be decoded"
    assert "(MAX_IMAGE_PIXELS): not decoded" in str(logged.exc_info[1])

    settings.MAX_IMAGE_PIXELS = 800 * 400
    assert renditions.make_every_width(article.image) and decoded == [(800, 400)]


def _counting_reads(monkeypatch):
    """The names of the uploads read to make renditions from now on, in order (each read is
    the whole file, for its fingerprint)."""
    reads, real = [], renditions.make_renditions_in_sets
    monkeypatch.setattr(
        renditions, "make_renditions_in_sets", lambda fieldfile, sets: reads.append(fieldfile.name) or real(fieldfile, sets)
    )
    return reads


def _copied_in_too_large_to_hold(settings, kind="PNG", padding=8 * 2**20):
    """An article whose picture was copied into the media folder with `padding` bytes after its
    end, past the 3.9 MB held of it."""
    name = f"news/2020/01/heavy.{kind.lower()}"
    _media(settings, name).parent.mkdir(parents=True)
    _media(settings, name).write_bytes(image_bytes(kind, (800, 400)) + bytes(padding))
    settings.MAX_UPLOAD_SIZE = 2**20
    settings.MAX_IMAGE_PIXELS = 800 * 400
    assert _media(settings, name).stat().st_size > renditions.held_at_most()
    article = make_article("Heavy", image=name, image_alt="Heavy")
    cache.clear()
    return article


def test_a_file_copied_in_too_large_to_hold_is_never_held_whole_nor_decoded(monkeypatch, settings, caplog):
    # Copied in without loaddata, a file of gigabytes was read whole into a visitor's request
    # for its fingerprint (review r27f). A PNG's bytes after its end are not looked at by Pillow.
    decoded = count_decoded_uploads(monkeypatch)
    article = _copied_in_too_large_to_hold(settings, padding=40 * 2**20)
    name = article.image.name
    tracemalloc.start()
    try:
        assert renditions_for(article.image) == [] and renditions_for(article.image, LEAD) == []
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"{peak / 2**20:.0f} MB held for a 40 MB file"
    assert decoded == []
    assert not _media(settings, "renditions").exists()
    [logged, *_] = [record for record in caplog.records if record.name == "baltmet.renditions"]
    assert logged.getMessage() == f"no renditions for {name}: it cannot be decoded"
    assert "larger than the 3,928,576 bytes a picture's file may take" in str(logged.exc_info[1])

    with pytest.raises(renditions.TooLargeToHold) as raised:  # with where it was found (review r30a)
        renditions.make_renditions(article.image)
    assert "_read_whole" in [entry.name for entry in raised.traceback]

    settings.MAX_UPLOAD_SIZE = 41 * 2**20
    assert renditions.make_every_width(article.image) and decoded == [(800, 400)]


@pytest.mark.parametrize("kind", ["PNG", "TIFF"])  # a TIFF scan: no renditions for its format either (r29f)
def test_a_file_too_large_to_hold_is_read_again_after_a_day_or_once_it_changes_not_every_five_minutes(
    monkeypatch, settings, kind
):
    # Every retry reads the whole file for its fingerprint, about a second a gigabyte, in a
    # visitor's request, and cannot succeed while the file and the limits stay as they are
    # (review r28e). A broken file of ordinary size is still tried again after five minutes.
    article = _copied_in_too_large_to_hold(settings, kind)
    name = article.image.name
    reads = _counting_reads(monkeypatch)
    start = time.time()
    clock = locmem_backend.time
    assert renditions_for(article.image) == [] and reads == [name]
    with monkeypatch.context() as later:
        later.setattr(clock, "time", lambda: start + 6 * 60)
        assert renditions_for(article.image) == [] and reads == [name]
        later.setattr(clock, "time", lambda: start + 24 * 3600 + 1)
        assert renditions_for(article.image) == [] and reads == [name, name]

    with _media(settings, name).open("ab") as file:  # a file changed is read again at once
        file.write(b"\0")
    assert renditions_for(article.image) == [] and reads == [name, name, name]


@pytest.mark.parametrize("fixed_by", ["raising the limit and running make_renditions", "a good picture copied over it"])
def test_a_page_without_a_picture_too_large_to_hold_shows_it_within_five_minutes_of_its_fix(client, settings, fixed_by):
    # Neither moves the content version: a page kept as long as the failure is remembered (a
    # day, or the page cache's hour) went on without the picture (review r29b).
    article = _copied_in_too_large_to_hold(settings)
    use_local_memory_page_cache(settings)
    url = article.get_absolute_url()
    assert "-320w." not in client.get(url).content.decode()
    assert client.get(url)["X-Page-Cache"] == "hit"
    if fixed_by == "a good picture copied over it":
        _replace_picture(settings, article.image.name, "blue", (800, 400))
    else:
        settings.MAX_UPLOAD_SIZE = 64 * 2**20
        call_command("make_renditions", stdout=io.StringIO(), stderr=io.StringIO())
    six_minutes_later = timezone.now() + timedelta(minutes=6)
    with mock.patch.object(timezone, "now", lambda: six_minutes_later):
        response = client.get(url)
    assert response["X-Page-Cache"] == "miss" and "-320w." in response.content.decode()


@pytest.mark.parametrize("all_made", [True, False])
def test_renditions_made_by_make_renditions_in_its_own_process_show_within_five_minutes_without_a_read(
    client, monkeypatch, settings, all_made
):
    # With the local-memory cache the command's result stays in its own process: an app server
    # whose limit was not raised remembered the failure for its day, though the renditions it
    # lacked were on disk (review r29f).
    article = _copied_in_too_large_to_hold(settings)
    use_local_memory_page_cache(settings)
    url, name = article.get_absolute_url(), article.image.name
    assert "-320w." not in client.get(url).content.decode()
    assert renditions.renditions_for_many([article.image]) == {name: []}  # a list's cards
    keys = [LEAD.key_for(name), renditions.CARDS.key_for(name)]
    app_servers_memory = cache.get_many(keys)
    assert len(app_servers_memory) == 2

    settings.MAX_UPLOAD_SIZE = 64 * 2**20
    call_command("make_renditions", stdout=io.StringIO(), stderr=io.StringIO())
    settings.MAX_UPLOAD_SIZE = 2**20
    cache.delete_many(keys)
    cache.set_many(app_servers_memory, 24 * 3600)
    if not all_made:  # the page's set of widths is not whole
        [largest] = _media(settings, "renditions").rglob("heavy.png-800w.*.png")
        largest.unlink()
    reads = _counting_reads(monkeypatch)

    six_minutes_later = timezone.now() + timedelta(minutes=6)
    with mock.patch.object(timezone, "now", lambda: six_minutes_later):
        response = client.get(url)
    assert response["X-Page-Cache"] == "miss" and ("-320w." in response.content.decode()) == all_made
    assert reads == []  # found by a stat of each rendition, not by reading the file whole
    lead = renditions_for(article.image, LEAD)
    assert bool(lead) == all_made and bool(renditions.renditions_for_many([article.image])[name]) == all_made
    assert reads == []
    if all_made:  # found, and remembered with the file as it is: a picture copied over it shows
        assert all(isinstance(each, renditions._Remembered) for each in cache.get_many(keys).values())
        _replace_picture(settings, name, "blue", (800, 400))
        assert {each.name for each in renditions_for(article.image, LEAD)}.isdisjoint(each.name for each in lead)


@pytest.mark.parametrize("kind", ["JPEG", "WEBP"])
def test_lowering_the_upload_size_leaves_the_renditions_of_older_pictures_as_they_are(settings, kind):
    # Pictures uploaded before DJANGO_MAX_UPLOAD_SIZE was lowered lost their renditions once the
    # cache forgot them (review r28c), a WebP even while they were on disk (review r28f).
    extension = {"JPEG": "jpg", "WEBP": "webp"}[kind]
    upload_of = upload(f"harbour.{extension}", image_bytes(kind, (2000, 1000)), f"image/{kind.lower()}")
    article = make_article("Harbour", image=upload_of, image_alt="Harbour")
    made = renditions_for(article.image, LEAD)
    settings.MAX_UPLOAD_SIZE = _media(settings, article.image.name).stat().st_size // 2
    cache.clear()
    assert renditions_for(article.image, LEAD) == made
    shutil.rmtree(_media(settings, "renditions"))  # a release with other widths or encoding
    cache.clear()
    call_command("make_renditions", stdout=io.StringIO(), stderr=io.StringIO())
    assert renditions_for(article.image, LEAD) == made and all(_media(settings, r.name).is_file() for r in made)


def test_a_webp_too_large_to_hold_is_refused_as_such(monkeypatch, settings, caplog):
    # Pillow reads a WebP whole as it opens it: its beginning alone does not open.
    article = make_article("Harbour", image=upload("harbour.webp", image_bytes("WEBP", (2000, 1000)), "image/webp"),
                           image_alt="Harbour")
    size = _media(settings, article.image.name).stat().st_size
    monkeypatch.setattr(renditions, "held_at_most", lambda: size // 2)
    cache.clear()
    caplog.clear()
    assert renditions_for(article.image, LEAD) == []
    [logged, *_] = [record for record in caplog.records if record.name == "baltmet.renditions"]
    assert "bytes a picture's file may take to make its renditions" in str(logged.exc_info[1])
    assert cache.get(LEAD.key_for(article.image.name)).until > timezone.now() + timedelta(hours=23)  # not read again soon


def test_a_still_picture_within_the_pixel_limit_is_held_whole_however_it_is_stored(settings):
    # 16-bit RGBA stored uncompressed, one pixel wide: 8 bytes a pixel and a filter byte a row
    # (review r28g found 8 bytes a pixel too few), copied in or uploaded before the upload size
    # was lowered.
    width, height = 1, 10_000
    rows = b"".join(b"\x00" + bytes(range(8)) for _ in range(height))
    data = raw_png(width, height, 16, 6, zlib.compress(rows, 0))
    settings.MAX_IMAGE_PIXELS = width * height
    settings.MAX_UPLOAD_SIZE = 1
    name = "news/2020/01/deep.png"
    _media(settings, name).parent.mkdir(parents=True)
    _media(settings, name).write_bytes(data)
    article = make_article("Deep", image=name, image_alt="Deep")
    assert len(data) > 8 * width * height
    assert renditions_for(article.image, LEAD)


def test_a_very_high_upload_size_leaves_renditions_as_they_are(settings):
    # "No limit of ours" (the proxy limits uploads): a read of that many bytes allocated at once
    # was a MemoryError, and no picture had renditions (review r28c).
    settings.MAX_UPLOAD_SIZE = 10**12
    article = make_article("Harbour", image=_image("harbour.jpg", "JPEG", (2000, 1000)), image_alt="Harbour")
    cache.clear()
    assert renditions_for(article.image, LEAD)


def test_a_storage_that_reads_a_little_at_a_time_gets_renditions_of_the_whole_picture(monkeypatch, settings):
    # A stream of another storage may give fewer bytes than asked before its end.
    article = make_article("Trickle", image=_image("trickle.jpg", "JPEG", (1000, 500)), image_alt="Trickle")
    whole = renditions_for(article.image)
    shutil.rmtree(_media(settings, "renditions"))
    cache.clear()

    class Trickling(io.BytesIO):
        def read(self, size=-1):
            return super().read(4096 if size is None or size < 0 else min(size, 4096))

    monkeypatch.setattr(FileSystemStorage, "open", lambda storage, name, mode="rb": File(
        Trickling(Path(storage.path(name)).read_bytes()), name))
    made = renditions_for(article.image)
    assert [r.name for r in made] == [r.name for r in whole]  # named after the whole file's bytes
    for rendition in made:
        with Image.open(_media(settings, rendition.name)) as image:
            image.load()  # whole, not a part's


def test_an_upload_gone_while_its_renditions_are_remembered_shows_no_image(settings):
    article = make_article("Removed", image=_image("removed.jpg", "JPEG", (1000, 500)), image_alt="Removed")
    assert renditions_for(article.image)
    _media(settings, article.image.name).unlink()
    assert renditions_for(article.image) == []


def test_a_release_that_encodes_renditions_otherwise_shows_new_ones_at_once(monkeypatch, settings):
    # A new QUALITY (or filter) must not leave every picture's old files in place, remembered
    # for a day and then found on disk for good.
    article = make_article("Quality", image=_image("quality.jpg", "JPEG", (1000, 500)), image_alt="Quality")
    old = renditions_for(article.image)
    before = renditions.encoding()
    monkeypatch.setitem(renditions._OUTPUT, "JPEG", (".jpg", {**renditions._OUTPUT["JPEG"][1], "quality": 20}))
    assert renditions.encoding() != before
    monkeypatch.setattr(renditions, "ENCODING", renditions.encoding())  # as at the new release's start

    new = renditions_for(article.image)

    assert [(r.width, r.height) for r in new] == [(r.width, r.height) for r in old]
    assert not {r.name for r in new} & {r.name for r in old}
    for made_before, made_now in zip(old, new):
        assert _quantization(settings, made_now) > _quantization(settings, made_before)  # coarser: quality 20


def _quantization(settings, rendition):
    with Image.open(_media(settings, rendition.name)) as file:
        return sum(file.quantization[0])


@pytest.mark.parametrize("setting, value", [("ENCODER_REVISION", 99), ("REDUCING_GAP", 2.0), ("REDUCING_GAP", None)])
def test_the_encoders_revision_and_reducing_gap_are_part_of_the_encoding(monkeypatch, setting, value):
    before = renditions.encoding()
    assert getattr(renditions, setting) != value
    monkeypatch.setattr(renditions, setting, value)
    assert renditions.encoding() != before


def _old_renditions(settings):
    """Files as releases before left them: by the upload's name alone, and of another encoding."""
    old = [_media(settings, "renditions/news/2020/01/old.jpg-320w.jpg"), _media(settings, "renditions/0badc0de/news/2020/01/old.jpg-320w.1a2b3c4d5e6f.jpg")]
    for path in old:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"old")
    return old


def test_make_renditions_deletes_other_encodings_only_when_asked(settings):
    article = make_article("Kept", image=_image("kept.jpg", "JPEG", (1000, 500)), image_alt="Kept")
    old = _old_renditions(settings)
    call_command("make_renditions", stdout=io.StringIO())
    assert all(path.exists() for path in old)

    out = io.StringIO()
    call_command("make_renditions", "--delete-other-encodings", stdout=out)

    assert not any(path.exists() for path in old)
    assert [path.name for path in _media(settings, "renditions").iterdir()] == [renditions.ENCODING]
    assert "0badc0de, news" in out.getvalue()
    cache.clear()
    assert all(_media(settings, r.name).is_file() for r in renditions_for(article.image, LEAD))


@pytest.mark.parametrize("option", ["--delete-other-encodings", "--delete-unused"])
def test_make_renditions_deletes_nothing_while_an_image_has_none(settings, option):
    replaced = make_article("Replaced", image=_image("replaced.jpg", "JPEG", (800, 600)), image_alt="Replaced")
    unused = [_media(settings, r.name) for r in renditions_for(replaced.image, LEAD)]
    replaced.image = _image("replacement.jpg", "JPEG", (800, 600))
    replaced.save()
    _unused_for_days(*unused)  # else their times keep them whatever the command decides (review r29e)
    make_article("Broken", image=_image("broken.jpg", "JPEG", (800, 600)), image_alt="Broken")
    _media(settings, Article.objects.get(title="Broken").image.name).write_bytes(b"not a picture")
    old = _old_renditions(settings)
    with pytest.raises(CommandError, match="Nothing was deleted"):
        call_command("make_renditions", option, stdout=io.StringIO(), stderr=io.StringIO())
    assert unused and all(path.exists() for path in old + unused)


def test_make_renditions_deletes_nothing_while_an_image_lacks_one_rendition(monkeypatch, settings):
    make_article("Full", image=_image("full.jpg", "JPEG", (2000, 1000)), image_alt="Full")
    shutil.rmtree(_media(settings, "renditions"))
    old = _old_renditions(settings)
    _full_at_1600(monkeypatch)
    with pytest.raises(CommandError, match="Nothing was deleted"):
        call_command("make_renditions", "--delete-other-encodings", stdout=io.StringIO(), stderr=io.StringIO())
    assert all(path.exists() for path in old)


@pytest.mark.parametrize(
    "name",
    [
        "renditions/imported/quay.jpg",
        "./renditions/imported/quay.jpg",
        "news/../renditions/imported/quay.jpg",
        "news/linked/quay.jpg",  # a link elsewhere into renditions/
        "renditions/linked-out/quay.jpg",  # a link in renditions/ to a folder elsewhere
    ],
)
@pytest.mark.parametrize("option", ["--delete-other-encodings", "--delete-unused"])
def test_make_renditions_deletes_no_image_stored_among_the_renditions(settings, name, option):
    # An import may name any file of MEDIA_ROOT (docs/importing.md), in any spelling.
    stored = _media(settings, "renditions/imported/quay.jpg")
    stored.parent.mkdir(parents=True)
    _replace_picture(settings, "renditions/imported/quay.jpg", "blue", (800, 400))
    _media(settings, "news").mkdir(exist_ok=True)
    _media(settings, "news/linked").symlink_to(stored.parent)
    _media(settings, "elsewhere").mkdir()
    _replace_picture(settings, "elsewhere/quay.jpg", "blue", (800, 400))
    _media(settings, "renditions/linked-out").symlink_to(_media(settings, "elsewhere"))
    make_article("Quay", image=name, image_alt="The quay")
    with pytest.raises(CommandError, match=re.escape(name)):
        call_command("make_renditions", option, stdout=io.StringIO())
    assert stored.is_file() and _media(settings, name).is_file()


def test_make_renditions_says_at_once_that_it_cannot_delete_without_local_paths(monkeypatch):
    make_article("Remote", image=_image("remote.jpg", "JPEG", (800, 400)), image_alt="Remote")

    def no_path(name):
        raise NotImplementedError("This backend doesn't support absolute paths.")

    monkeypatch.setattr(default_storage, "path", no_path)
    monkeypatch.setattr(renditions, "make_every_width", lambda image: pytest.fail("worked first"))
    with pytest.raises(CommandError, match="local or mounted disk"):
        call_command("make_renditions", "--delete-other-encodings", stdout=io.StringIO())


def test_a_broken_upload_is_read_and_logged_once_a_save(monkeypatch, settings, caplog):
    article = make_article("Cut", image=_image("cut.jpg", "JPEG", (2000, 1000)), image_alt="Cut")
    _cut_short(settings, article)
    shutil.rmtree(_media(settings, "renditions"))
    decoded = count_decoded_uploads(monkeypatch)
    caplog.clear()
    article.save()
    assert len(decoded) == 1
    [logged] = [record for record in caplog.records if record.name == "baltmet.renditions"]
    assert logged.getMessage() == f"no renditions for {article.image.name}: it cannot be decoded"
    assert isinstance(logged.exc_info[1], OSError)  # with its traceback


def _disk_full(storage, name, data):
    raise OSError(28, "No space left on device")


def _out_of_memory(image, image_format, size, back_on_palette=False):  # _encode's signature (review r29e)
    raise MemoryError


def _cut_short(settings, article):
    path = _media(settings, article.image.name)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # opens, does not decode


def _photo(turned):
    exif = Image.Exif()
    if turned:
        exif[0x0112] = 6  # decoded, then turned into a picture of its own
    buffer = io.BytesIO()
    Image.new("RGB", (3000, 2000), "navy").save(buffer, "JPEG", exif=exif)
    return upload("big.jpg", buffer.getvalue(), "image/jpeg")


@pytest.mark.parametrize("turned", [False, True], ids=["upright", "turned"])
@pytest.mark.parametrize("step, failing", [("put_whole", _disk_full), ("_encode", _out_of_memory), ("upload", _cut_short)])
def test_a_failed_rendition_does_not_keep_the_decoded_picture_in_memory(monkeypatch, settings, step, failing, turned):
    # Through a disk-full hour every image a page shows fails: none may stay decoded.
    article = make_article("Big", image=_photo(turned), image_alt="Big")
    shutil.rmtree(_media(settings, "renditions"))
    decoded, opened_uploads = [], []
    upright, orientation_of = renditions._upright, renditions._orientation
    monkeypatch.setattr(renditions, "_upright", lambda opened, orientation: _kept(decoded, upright(opened, orientation)))
    monkeypatch.setattr(renditions, "_orientation", lambda opened: opened_uploads.append(opened) or orientation_of(opened))
    if step == "upload":
        failing(settings, article)
    else:
        monkeypatch.setattr(renditions, step, failing)
    gc.disable()  # freed at once, not by a later collection
    try:
        cache.clear()
        assert renditions_for(article.image) == []
        [opened] = opened_uploads  # the test keeps it; its pixels must be gone
        with pytest.raises(ValueError, match="closed image"):
            opened.im
        # What was decoded is gone, or is that upload itself (upright as stored), closed.
        assert len(decoded) == (0 if step == "upload" else 1)
        assert all(reference() is None or (reference() is opened and not turned) for reference in decoded)
    finally:
        gc.enable()


def _padded_jpeg(size, padding):
    # A JPEG of `padding` more bytes (after its end, which Pillow reads no further than).
    return image_bytes("JPEG", size) + bytes(padding)


def test_a_failed_rendition_does_not_keep_the_uploads_bytes_in_memory(monkeypatch, settings):
    # Through a disk-full hour, every image a page shows would keep its upload's bytes until a
    # collection: a failure's traceback keeps the frames that read them (review r28e).
    settings.MAX_UPLOAD_SIZE = 64 * 2**20
    article = make_article("Big", image=upload("big.jpg", _padded_jpeg((1000, 500), 30 * 2**20), "image/jpeg"),
                           image_alt="Big")
    shutil.rmtree(_media(settings, "renditions"))
    monkeypatch.setattr(renditions, "put_whole", _disk_full)
    monkeypatch.setattr(renditions.logger, "disabled", True)  # no log record keeps the error
    cache.clear()
    gc.collect()
    gc.disable()  # freed at once, not by a later collection
    tracemalloc.start()
    try:
        assert renditions_for(article.image) == []
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        gc.enable()
    assert held < 8 * 2**20, f"{held / 2**20:.0f} MB still held for a 30 MB upload"


def test_showing_the_renditions_of_an_upload_holds_its_bytes_about_once(settings):
    settings.MAX_UPLOAD_SIZE = 64 * 2**20
    article = make_article("Big", image=upload("big.jpg", _padded_jpeg((1000, 500), 30 * 2**20), "image/jpeg"),
                           image_alt="Big")
    cache.clear()
    tracemalloc.start()
    try:
        assert renditions_for(article.image)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Chunks joined held them twice (review r28e).
    assert peak < 1.6 * 30 * 2**20, f"{peak / 2**20:.0f} MB at the peak for a 30 MB upload"


def test_a_picture_too_large_to_hold_written_over_while_read_keeps_its_renditions_sizes(monkeypatch, settings):
    # Its sizes come from the bytes the fingerprint was made of: reading its headers again
    # after a copy in place gave the old renditions the new picture's sizes (review r28e).
    settings.MAX_UPLOAD_SIZE = 4 * 2**20
    article = make_article("Pier", image=upload("pier.jpg", _padded_jpeg((2000, 1000), 3 * 2**20), "image/jpeg"),
                           image_alt="Pier")
    name = article.image.name
    before = [(r.name, r.width, r.height) for r in renditions_for(article.image)]
    settings.MAX_UPLOAD_SIZE = 2**19
    settings.MAX_IMAGE_PIXELS = 2**16  # held: 1.6 MB
    cache.clear()
    real = renditions._fingerprint_and_bytes

    def then_written_over(*args):
        read = real(*args)
        with open(_media(settings, name), "r+b") as file:  # in place, as cp does
            file.truncate(0)
            file.write(_padded_jpeg((1000, 2000), 3 * 2**20))
        return read

    monkeypatch.setattr(renditions, "_fingerprint_and_bytes", then_written_over)
    assert [(r.name, r.width, r.height) for r in renditions_for(article.image)] == before


def _kept(references, image):
    references.append(weakref.ref(image))
    return image


def test_each_width_that_cannot_be_written_is_logged_with_its_error(monkeypatch, settings, caplog):
    article = make_article("Two", image=_image("two.jpg", "JPEG", (2000, 1000)), image_alt="Two")
    shutil.rmtree(_media(settings, "renditions"))
    real = renditions.put_whole

    def failing(storage, name, data):
        if "-640w." in name:
            raise OSError(28, "No space left on device")
        if "-1600w." in name:
            raise MemoryError
        real(storage, name, data)

    monkeypatch.setattr(renditions, "put_whole", failing)
    caplog.clear()
    article.save()
    logged = [(record.getMessage(), type(record.exc_info[1])) for record in caplog.records if record.name == "baltmet.renditions"]
    assert logged == [
        (f"no 640w rendition for {article.image.name}", OSError),
        (f"no 1600w rendition for {article.image.name}", MemoryError),
    ]


def test_an_undecodable_upload_fails_only_the_sets_with_a_width_missing(monkeypatch, settings):
    # The cards' files are on disk; the lead image's 1600 px copy went: lists keep their images.
    article = make_article("Gone", image=_image("gone.jpg", "JPEG", (2000, 1000)), image_alt="Gone")
    [lead] = [r for r in renditions_for(article.image, LEAD) if r.width == 1600]
    _media(settings, lead.name).unlink()
    cache.clear()

    def cannot_decode(opened, orientation):
        raise MemoryError

    monkeypatch.setattr(renditions, "_upright", cannot_decode)
    assert renditions.make_every_width(article.image) is None
    assert [r.width for r in renditions_for(article.image)] == [320, 640, 960]
    assert renditions_for(article.image, LEAD) == []


def _full_at_1600(monkeypatch):
    """A disk that fills up as the 1600-pixel copy is written."""
    real = renditions.put_whole

    def full_at_1600(storage, name, data):
        if "-1600w." in name:
            raise OSError(28, "No space left on device")
        real(storage, name, data)

    monkeypatch.setattr(renditions, "put_whole", full_at_1600)


def test_a_save_whose_lead_width_fails_keeps_the_cards_renditions(monkeypatch, settings):
    # A disk full by the 1600-pixel copy: the cards' three are on disk, and lists show them.
    _full_at_1600(monkeypatch)
    article = make_article("Full", image=_image("full.jpg", "JPEG", (2000, 1000)), image_alt="Full")
    monkeypatch.setattr(renditions, "make_renditions_in_sets", lambda *args: pytest.fail("made again"))
    assert [r.width for r in renditions_for(article.image)] == [320, 640, 960]
    assert renditions_for(article.image, LEAD) == []  # until it is tried again


def test_a_save_whose_upload_is_broken_remembers_the_failure_for_every_set(monkeypatch, settings):
    article = make_article("Bad", image=_image("bad.jpg", "JPEG", (800, 600)), image_alt="Bad")
    _media(settings, article.image.name).write_bytes(b"not a picture")
    cache.clear()
    article.save()
    for widths in (renditions.CARDS, LEAD):
        assert isinstance(cache.get(widths.key_for(article.image.name)), renditions._Failed), widths


def test_media_moved_to_another_address_shows_in_the_renditions_at_once(settings):
    article = make_article("Moved", image=_image("moved.jpg", "JPEG", (1000, 500)), image_alt="Moved")
    assert all(r.url.startswith("/media/renditions/") for r in renditions_for(article.image))
    settings.MEDIA_URL = "https://media.example.org/"
    for widths in (renditions.CARDS, LEAD):
        assert all(r.url.startswith("https://media.example.org/renditions/") for r in renditions_for(article.image, widths))


@pytest.mark.parametrize("how", ["save", "command"])
def test_every_width_is_made_from_one_read_of_the_upload(monkeypatch, settings, how):
    reads = []
    real = renditions._fingerprint_and_bytes
    monkeypatch.setattr(renditions, "_fingerprint_and_bytes", lambda *args: reads.append(args) or real(*args))
    article = make_article("Read", image=_image("read.jpg", "JPEG", (2000, 1000)), image_alt="Read")
    if how == "command":
        reads.clear()
        cache.clear()
        call_command("make_renditions", stdout=io.StringIO())
    assert len(reads) == 1
    monkeypatch.setattr(renditions, "_fingerprint_and_bytes", lambda *args: pytest.fail("read again"))
    assert [r.width for r in renditions_for(article.image, LEAD)] == [320, 640, 960, 1600]
    assert [r.width for r in renditions_for(article.image)] == [320, 640, 960]


@pytest.mark.parametrize("name", ["../outside.jpg", "news/../../outside.jpg"])
def test_an_image_named_outside_media_root_is_never_read_and_its_pages_still_show(client, settings, name):
    # Only code can save such a name (an import refuses it, and uploads are named by Django).
    _media(settings, "").mkdir(parents=True, exist_ok=True)
    _replace_picture(settings, "../outside.jpg", "blue", (800, 400))
    article = make_article("Outside", image=name, image_alt="Outside")
    for url in ("/news/", article.get_absolute_url(), "/"):
        response = client.get(url)
        assert response.status_code == 200
        assert article.title in response.content.decode()
        assert not [tag for tag in _img_tags(response.content.decode()) if "outside" in tag]
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 of 1 images have no renditions"):
        call_command("make_renditions", stdout=io.StringIO(), stderr=err)
    assert name in err.getvalue()
    for option in ("--delete-other-encodings", "--delete-unused"):
        with pytest.raises(CommandError, match=f"Nothing was deleted.*{re.escape(name)}"):
            call_command("make_renditions", option, stdout=io.StringIO(), stderr=io.StringIO())
    assert not list(Path(settings.MEDIA_ROOT).rglob("outside*"))


def _unused_for_days(*paths):
    """As files no page has looked for since the day before yesterday (renditions.USED_MARK_SECONDS)."""
    then = time.time() - 3 * 86_400
    for path in paths:
        os.utime(path, (then, then))


def _times_cannot_be_set(monkeypatch):
    """As for files of another user (the app servers'), or on read-only media."""

    def refused(*args, **kwargs):
        raise PermissionError("not the owner")

    monkeypatch.setattr(os, "utime", refused)


def _on_disk(settings, *fieldfiles):
    """The files of the renditions of `fieldfiles`, which must have some."""
    found = [[_media(settings, r.name) for r in renditions_for(fieldfile, LEAD)] for fieldfile in fieldfiles]
    assert all(found), "an image without renditions"
    return sum(found, [])


def test_make_renditions_deletes_the_renditions_no_image_uses_only_when_asked(settings):
    replaced = make_article("Replaced", image=_image("harbour.jpg", "JPEG", (2000, 1000)), image_alt="Harbour")
    before = _on_disk(settings, replaced.image)
    replaced.image = _image("harbour-corrected.jpg", "JPEG", (2000, 1000))
    replaced.save()
    gone = make_article("Deleted", image=_image("gone.jpg", "JPEG", (800, 400)), image_alt="Gone")
    gone_renditions = _on_disk(settings, gone.image)
    gone.delete()
    region = make_region("tartu", name="Tartu", image=_image("tartu.jpg", "PNG", (700, 300)), image_alt="Tartu")
    piece = _media(settings, f"renditions/{renditions.ENCODING}/news/.abc123.part")
    piece.write_bytes(b"cut short")
    other_encoding = _old_renditions(settings)
    _unused_for_days(*before, *gone_renditions, piece)
    call_command("make_renditions", stdout=io.StringIO())
    assert all(path.exists() for path in before + gone_renditions + [piece])

    out = io.StringIO()
    call_command("make_renditions", "--delete-unused", stdout=out)

    assert not any(path.exists() for path in before + gone_renditions + [piece])
    assert f"Deleted {len(before + gone_renditions)} files" in out.getvalue()
    assert all(path.exists() for path in other_encoding)
    cache.clear()
    kept = _on_disk(settings, Article.objects.get(pk=replaced.pk).image, region.image)
    assert len(kept) == 7 and all(path.is_file() for path in kept)
    # The folders left empty go; the folder of the encoding stays.
    assert not [folder for folder in _media(settings, f"renditions/{renditions.ENCODING}").rglob("*")
                if folder.is_dir() and not any(folder.iterdir())]


def test_make_renditions_keeps_files_written_after_it_started(settings):
    make_article("Kept", image=_image("kept.jpg", "JPEG", (800, 400)), image_alt="Kept")
    newer = _media(settings, f"renditions/{renditions.ENCODING}/news/being-made.jpg-320w.1a2b3c4d5e6f.jpg")
    newer.write_bytes(b"made by a save while the command ran")
    os.utime(newer, (time.time() + 60, time.time() + 60))
    call_command("make_renditions", "--delete-unused", stdout=io.StringIO())
    assert newer.exists()


def test_make_renditions_keeps_the_renditions_of_an_image_saved_while_it_ran(monkeypatch, settings):
    # An import names a picture whose renditions were made before the command started, long
    # enough before, and where their times cannot be set, that nothing else keeps them (their
    # times kept new files whatever the command decided, review r29e).
    earlier = make_article("Earlier", image=_image("quay.jpg", "JPEG", (800, 400)), image_alt="Quay")
    name, kept = earlier.image.name, _on_disk(settings, earlier.image)
    earlier.delete()
    _unused_for_days(*kept)
    make_article("Other", image=_image("other.jpg", "JPEG", (800, 400)), image_alt="Other")
    _times_cannot_be_set(monkeypatch)
    make_every_width = renditions.make_every_width
    imported = []

    def import_meanwhile(image):
        if not imported:
            imported.append(make_article("Imported", image=name, image_alt="Quay again"))
        return make_every_width(image)

    monkeypatch.setattr("baltmet.management.commands.make_renditions.make_every_width", import_meanwhile)
    call_command("make_renditions", "--delete-unused", stdout=io.StringIO())
    assert all(path.is_file() for path in kept)


def test_make_renditions_keeps_the_renditions_of_an_image_named_with_dot_folders(monkeypatch, settings):
    make_article("Plain", image=_image("dots.jpg", "JPEG", (800, 400)), image_alt="Dots")
    name = Article.objects.get().image.name
    folder, file = name.rsplit("/", 1)
    dotted = make_article("Dotted", image=f"{folder}/./{file}", image_alt="Dots")
    Article.objects.filter(title="Plain").delete()
    kept = _on_disk(settings, dotted.image)
    _unused_for_days(*kept)  # compared as files, not kept by their times (review r29e)
    _times_cannot_be_set(monkeypatch)
    call_command("make_renditions", "--delete-unused", stdout=io.StringIO())
    assert kept and all(path.is_file() for path in kept)


@pytest.mark.parametrize("option", ["--delete-other-encodings", "--delete-unused"])
def test_make_renditions_deletes_nothing_while_an_images_renditions_would_be_elsewhere(settings, option):
    # "../media/quay.jpg" is in MEDIA_ROOT, and its renditions would be in renditions/media/.
    article = make_article("Quay", image=_image("quay.jpg", "JPEG", (800, 400)), image_alt="Quay")
    media_folder = Path(settings.MEDIA_ROOT).name
    Article.objects.filter(pk=article.pk).update(image=f"../{media_folder}/{article.image.name}")
    old = _old_renditions(settings)
    with pytest.raises(CommandError, match="would be outside"):
        call_command("make_renditions", option, stdout=io.StringIO())
    assert all(path.exists() for path in old)


def test_make_renditions_deleting_unused_ones_makes_stored_pages_again(client, settings):
    # A corrected picture copied over its upload without a save (docs/importing.md): the page
    # cache kept the page with the old renditions, which the command deletes.

    use_local_memory_page_cache(settings)
    article = make_article("Quay", image=_image("quay.jpg", "JPEG", (2000, 1000)), image_alt="Quay")
    url = article.get_absolute_url()
    client.get(url)
    assert client.get(url)["X-Page-Cache"] == "hit"
    _unused_for_days(*_on_disk(settings, article.image))
    _replace_picture(settings, article.image.name, "blue", (2000, 1000))
    call_command("make_renditions", "--delete-unused", stdout=io.StringIO())
    response = client.get(url)
    assert response["X-Page-Cache"] == "miss"
    sources = re.findall(r'src="/media/([^"]+)"', response.content.decode())
    assert sources and all(_media(settings, source).is_file() for source in sources)


def test_make_renditions_deletes_nothing_where_the_page_caches_version_cannot_be_moved(
    client, settings, monkeypatch
):
    # The same corrected picture, the version's writes failing (a database failover): the pages
    # kept would go on showing the deleted files for up to an hour (review r25l).
    from tests.failing_version_writes import database_refusing_version_writes

    use_local_memory_page_cache(settings)
    article = make_article("Quay", image=_image("quay.jpg", "JPEG", (2000, 1000)), image_alt="Quay")
    url = article.get_absolute_url()
    client.get(url)
    assert client.get(url)["X-Page-Cache"] == "hit"
    old = _on_disk(settings, article.image)
    _unused_for_days(*old)
    _replace_picture(settings, article.image.name, "blue", (2000, 1000))
    monkeypatch.setattr("baltmet.content_version.VERSION_WRITE_SECONDS", 0.3)
    down = database_refusing_version_writes(monkeypatch)
    with pytest.raises(CommandError, match="nothing was deleted"):
        call_command("make_renditions", "--delete-unused", stdout=io.StringIO())
    assert all(path.is_file() for path in old)
    down.clear()  # the database back: the owed write gets through, and the command deletes them
    call_command("make_renditions", "--delete-unused", stdout=io.StringIO())
    assert not any(path.exists() for path in old)


def test_a_rendition_whose_folders_parent_goes_while_it_is_made_is_made_all_the_same(monkeypatch, settings):
    # make_renditions --delete-unused removes an empty folder while makedirs() makes the one
    # below it (review r25l): that width failed, and the image went without renditions for
    # five minutes on every server.
    Path(settings.MEDIA_ROOT, "news/2020/01").mkdir(parents=True)
    _replace_picture(settings, "news/2020/01/pier.jpg", "red", (800, 400))
    parent = Path(settings.MEDIA_ROOT, f"renditions/{renditions.ENCODING}/news/2020")
    parent.mkdir(parents=True)
    real_mkdir, removed = os.mkdir, []

    def mkdir(path, *args, **kwargs):
        if os.fspath(path) == str(parent / "01") and not removed:
            removed.append(path)
            os.rmdir(parent)  # the command's, at that very moment
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    made = renditions_for(Article(title="Pier", image="news/2020/01/pier.jpg").image)
    assert removed and [rendition.width for rendition in made] == [320, 640, 800]


@pytest.mark.parametrize("hours", [72, 2])
def test_make_renditions_keeps_renditions_a_save_it_cannot_see_found_in_place(monkeypatch, settings, hours):
    # A save in a transaction not committed yet (an import) finds renditions made a while ago:
    # marked as used then (three days), or already within the day (two hours).
    earlier = make_article("Earlier", image=_image("quay.jpg", "JPEG", (800, 400)), image_alt="Quay")
    name, kept = earlier.image.name, _on_disk(settings, earlier.image)
    earlier.delete()
    for path in kept:
        os.utime(path, (time.time() - hours * 3600, time.time() - hours * 3600))
    make_article("Other", image=_image("other.jpg", "JPEG", (800, 400)), image_alt="Other")
    make_every_width = renditions.make_every_width

    def a_save_meanwhile(image):
        renditions.make_every_width(Article(image=name).image)  # as the unseen save's post_save
        return make_every_width(image)

    monkeypatch.setattr("baltmet.management.commands.make_renditions.make_every_width", a_save_meanwhile)
    call_command("make_renditions", "--delete-unused", stdout=io.StringIO())
    assert all(path.is_file() for path in kept)


def test_make_renditions_keeps_an_unused_file_written_while_it_ran(monkeypatch, settings):
    make_article("Kept", image=_image("kept.jpg", "JPEG", (800, 400)), image_alt="Kept")
    written = _media(settings, f"renditions/{renditions.ENCODING}/news/meanwhile.jpg-320w.1a2b3c4d5e6f.jpg")
    make_every_width = renditions.make_every_width

    def write_meanwhile(image):
        time.sleep(0.05)
        written.write_bytes(b"a page's rendition, made while the command ran")
        return make_every_width(image)

    monkeypatch.setattr("baltmet.management.commands.make_renditions.make_every_width", write_meanwhile)
    call_command("make_renditions", "--delete-unused", stdout=io.StringIO())
    assert written.exists()


def test_make_renditions_removes_the_folders_it_empties(settings):
    region = make_region("tartu", name="Tartu", image=_image("tartu.jpg", "PNG", (700, 300)), image_alt="Tartu")
    made = _on_disk(settings, region.image)
    _unused_for_days(*made)
    folder = made[0].parent
    region.delete()
    make_article("Kept", image=_image("kept.jpg", "JPEG", (800, 400)), image_alt="Kept")
    call_command("make_renditions", "--delete-unused", stdout=io.StringIO())
    assert not folder.exists()
    assert _media(settings, f"renditions/{renditions.ENCODING}").is_dir()


def test_a_rendition_is_written_when_its_folder_is_removed_just_before(monkeypatch, settings):
    # make_renditions --delete-unused removes a folder it empties, maybe as a page writes in it.
    mkstemp, removed = tempfile.mkstemp, []

    def folder_removed_once(*args, **kwargs):
        if not removed:
            removed.append(kwargs["dir"])
            raise FileNotFoundError(kwargs["dir"])
        return mkstemp(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", folder_removed_once)
    article = make_article("Quay", image=_image("quay.jpg", "JPEG", (800, 400)), image_alt="Quay")
    made = _on_disk(settings, article.image)
    assert removed and len(made) == 3 and all(path.is_file() for path in made)


def test_make_renditions_goes_on_when_a_file_goes_while_it_deletes(monkeypatch, settings):
    make_article("Kept", image=_image("kept.jpg", "JPEG", (800, 400)), image_alt="Kept")
    walk = os.walk

    def with_a_file_gone(top, **kwargs):
        for folder, subfolders, files in walk(top, **kwargs):
            yield folder, subfolders, [*files, ".renamed-meanwhile.part"]

    monkeypatch.setattr("baltmet.management.commands.make_renditions.os.walk", with_a_file_gone)
    out = io.StringIO()
    call_command("make_renditions", "--delete-unused", stdout=out)
    assert "Deleted 0 files" in out.getvalue()


def test_a_rendition_in_use_is_marked_so_at_most_once_a_day(settings):
    # Its time is what browsers and CDNs revalidate against, and each mark a write to the disk.
    article = make_article("Quay", image=_image("quay.jpg", "JPEG", (800, 400)), image_alt="Quay")
    files = _on_disk(settings, article.image)
    times = [path.stat().st_mtime_ns for path in files]
    cache.clear()
    renditions_for(article.image, LEAD)
    assert [path.stat().st_mtime_ns for path in files] == times
    _unused_for_days(*files)
    cache.clear()
    renditions_for(article.image, LEAD)
    assert all(time.time() - path.stat().st_mtime < 60 for path in files)


def test_make_renditions_keeps_what_images_use_where_their_times_cannot_be_set(monkeypatch, settings):
    # Files of another user (the app servers'), or read-only media: compared as files then.
    article = make_article("Quay", image=_image("quay.jpg", "JPEG", (800, 400)), image_alt="Quay")
    kept = _on_disk(settings, article.image)
    _unused_for_days(*kept)
    _times_cannot_be_set(monkeypatch)
    call_command("make_renditions", "--delete-unused", stdout=io.StringIO())
    assert all(path.is_file() for path in kept)
