"""
Resized copies ("renditions") of uploaded images, for listings, cards and the lead image of
an article or region: a teaser shows a 320-pixel-wide image, not the editor's 4000-pixel upload.

- Widths CARDS (320, 640, 960) for lists and cards, LEAD (those and 1600) for the image at the
  top of a page, its 48rem column on a high-density screen; never wider than the upload, whose
  own width is used instead of the widths above it. Each set is remembered under its own key:
  a width added to one does not send the other's pages looking for their images anew, each
  decoding its uploads in a visitor's request. JPEG and WebP are re-encoded at quality 80, PNG
  and GIF keep their format (a GIF or an animated WebP its first frame), all resized with a
  Lanczos filter (palette images too). EXIF orientation is applied and metadata left out,
  but for the colour profile and a PNG's gamma, chromaticities and sRGB intent.
- Names are the upload's, its width and a fingerprint of the upload's bytes (the first 12 hex
  digits of their SHA-256), in a folder named after how renditions are encoded (ENCODING)
  under MEDIA_ROOT: news/2026/05/abc.jpg gets
  renditions/0f1e2d3c/news/2026/05/abc.jpg-320w.1a2b3c4d5e6f.jpg, ... (an imported name too
  long for the disk's limit, NAME_MAX bytes, with that added is cut and given a digest of
  itself). A release that encodes
  them otherwise (a new QUALITY) makes every picture's anew in a folder of its own, rather
  than showing the files it finds on disk; `manage.py make_renditions
  --delete-other-encodings` deletes the other folders. An upload's name is random, but an
  import may copy a corrected picture over the file of the one it replaces (docs/importing.md):
  the new picture gets renditions of its own, at new addresses (which browsers that kept the
  old ones fetch anew), at the next page that shows it, in every process, where MEDIA_ROOT is
  a local or mounted folder (`file_state()`); on another storage, at the next save of what
  shows it or when the cache forgets the old ones (within a day).
- Made once: when an article or region with an image is saved (before the commit, so that the
  pages of the new content version find them), or else the first time a page shows it; an
  existing file is never made again, so each is put in place whole (written aside, then
  renamed), never seen half-written; a save makes every set of widths from one read of the
  upload. What the renditions are (URLs and sizes) is remembered in the cache for a day, under
  a key that names the encoding and MEDIA_URL too (a move of the media to another address
  shows at once), with the upload's file state (`file_state()`), so showing them costs one
  stat of the upload and no reading, and pages heal within a day should the renditions go (a
  media folder restored without them); `manage.py make_renditions` makes every missing one.
  An image that has none (a broken file) is tried again after five minutes, not on every page,
  and the page cache keeps the pages shown without it no longer than that; one whose file is
  too large to hold (TooLargeToHold) after a day, as no retry can succeed while the file and
  the settings stay as they are: reading it costs about a second a gigabyte (review r28e).
  Either is tried again as soon as its file changes, and the pages shown without it are made
  again within five minutes, which finds it then; a file too large to hold also shows the
  renditions it lacked as soon as they are all on disk (made by `make_renditions` with a
  higher limit, whose result a local-memory cache keeps in its own process), found by a stat
  of each (review r29f), where its headers are within the bytes held (not a WebP whose own
  data goes past them: Pillow reads a WebP whole to open it).

`{% responsive_image image alt sizes %}` (baltmet.templatetags.renditions) writes the
<img> with src, srcset, sizes, width, height, loading="lazy" and alt; `{% lead_image image alt %}`
the same for a page's own image, loaded at once.
"""

import hashlib
import logging
import os
import struct
import tempfile
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import ExifTags, Image, PngImagePlugin

from baltmet import cache_failures, page_cache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Widths:
    """A set of widths, and the cache key under which what its renditions are is remembered."""

    widths: tuple
    key: str

    def key_for(self, name):
        # The URLs remembered are MEDIA_URL's, and the names ENCODING's.
        return self.key.format(name=name, encoding=ENCODING, media_url=settings.MEDIA_URL)


# v4 and lead-v3: the encoding and MEDIA_URL in the key. Keys of their own: during a deploy
# the older processes keep reading and writing theirs.
CARDS = Widths((320, 640, 960), "renditions:v4:{encoding}:{media_url}:{name}")
LEAD = Widths((*CARDS.widths, 1600), "renditions:lead-v3:{encoding}:{media_url}:{name}")
# Resizing by a large factor first shrinks by a whole factor with a box filter, to no less than
# this many times the target, then applies the Lanczos filter (Pillow's reducing_gap): a
# 320-pixel copy of a 4000-pixel photo takes 16 ms instead of 83 (bench/renditions.py), and
# "with reducing_gap greater or equal to 3.0, the result is indistinguishable from fair
# resampling in most cases" (Pillow's documentation). None: the Lanczos filter alone.
REDUCING_GAP = 3.0
QUALITY = 80
FOLDER = "renditions"
# The longest name of a file (its path aside) that ext4, XFS, btrfs and tmpfs take, in bytes.
NAME_MAX = 255
# Pillow format -> (extension, save options) of the rendition.
_OUTPUT = {
    "JPEG": (".jpg", {"quality": QUALITY, "optimize": True, "progressive": True}),
    "WEBP": (".webp", {"quality": QUALITY, "method": 4}),
    "PNG": (".png", {"optimize": True}),
    "GIF": (".gif", {}),
}
# Raised when _encode() writes other bytes from the same options (another filter, another
# colour handling): with the options themselves it names the renditions' folder (ENCODING).
ENCODER_REVISION = 2  # 2: PNGs' transparent colours, 1-bit grey, gamma (27 November)


def encoding():
    """A digest of how renditions are encoded: _OUTPUT's formats and options, REDUCING_GAP and
    ENCODER_REVISION. It names the folder of the renditions (under FOLDER) and is part of the
    cache's keys."""
    return hashlib.sha256(repr((ENCODER_REVISION, REDUCING_GAP, _OUTPUT)).encode()).hexdigest()[:8]


ENCODING = encoding()
_REMEMBERED_SECONDS = 24 * 3600
# How old a rendition's time may grow while it is in use (_exists_touched).
USED_MARK_SECONDS = 24 * 3600
_FAILED_SECONDS = 5 * 60


class TooLargeToHold(ValueError):
    """A picture's file is larger than held_at_most(), and its missing renditions are not made
    (for that, or for a cause its beginning shows): no retry can make them while the file and
    the limits stay as they are. `awaited`: where its beginning told its size, the set's
    renditions as they will be named, for when another process makes them."""

    def __init__(self, message, awaited=None):
        super().__init__(message)
        self.awaited = awaited


@dataclass(frozen=True)
class Rendition:
    name: str
    url: str
    width: int
    height: int


def rendition_name(original_name, fingerprint, width, extension):
    # The whole name, its extension too: imported files named harbour.jpg and harbour.jpeg are
    # two pictures.
    folder, slash, base = original_name.rpartition("/")
    ending = f"-{width}w.{fingerprint}{extension}"
    if len(f"{base}{ending}".encode()) > NAME_MAX:
        # An imported name near the limit (80 CJK characters are 240 bytes in UTF-8) would leave
        # the image without renditions (ENAMETOOLONG): it is cut, at a character, and a digest
        # of it whole keeps apart the names that differ after the cut.
        digest = "~" + hashlib.sha256(base.encode()).hexdigest()[:12]
        room = NAME_MAX - len(f"{digest}{ending}".encode())
        base = base.encode()[:room].decode(errors="ignore") + digest
    return f"{FOLDER}/{ENCODING}/{folder}{slash}{base}{ending}"


def target_sizes(width, height, widths):
    """[(width, height)] of the renditions in `widths` of a `width` × `height` image, never enlarged."""
    targets = [target for target in widths if target < width]
    if len(targets) < len(widths):
        targets.append(width)
    return [(target, max(1, round(height * target / width))) for target in targets]


def _for_encoding(image, image_format):
    """`image` in the mode its renditions are filtered in, converted once for all their widths,
    and whether they go back on a palette."""
    if image.mode == "1":
        # Grey, filtered and kept grey: as a palette, quantizing made its white 254, and a grey
        # colour profile is not valid on one.
        image = image.convert("L")
    palette = image.mode == "P"
    # 16-bit grey comes here without one (_transparent_colour_as_alpha()).
    transparent = "transparency" in image.info and image.mode in ("P", "RGB", "L")
    if palette or transparent:
        # Pillow resizes palette images by nearest neighbour whatever it is asked: jagged maps
        # and logos. In full colour they are filtered, then (PNG) put back on a palette, unless
        # transparent: quantizing would make their opaque parts 254/255 opaque.
        # A full-colour or grey PNG with a transparent colour (tRNS, as PNG optimisers store a
        # logo whose alpha is all or nothing) is filtered with its alpha too: else the filter
        # blends that colour into the edges, where it is no longer the transparent one, and
        # rings the logo with it.
        # A grey PNG stays grey (LA), its colour profile (a grey one) with it; GIF's writer keeps
        # no LA alpha. (Pillow's convert() keeps the profile and the PNG's colour statements.)
        image = image.convert(("LA" if image.mode == "L" and image_format == "PNG" else "RGBA") if transparent else "RGB")
    return image, palette and not transparent and image_format == "PNG"


def _encode(image, image_format, size, back_on_palette=False):
    """The bytes of a `size` rendition of `image`, as _for_encoding() gave it."""
    extension, options = _OUTPUT[image_format]
    # The colour profile goes with the pixels (a phone's Display P3 photo shown as sRGB has its
    # colours shifted); Pillow writes a JPEG's or WebP's only when told to.
    profile = image.info.get("icc_profile")
    colours = _colour_chunks(image.info)
    if size != image.size:
        # Pillow's reduce(), which reducing_gap uses, refuses 16-bit greyscale (I;16: scans, maps).
        gap = None if image.mode.startswith("I;16") else REDUCING_GAP
        resized = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=gap)
    else:
        resized = image.copy()
    if image_format == "JPEG" and resized.mode not in ("RGB", "L"):
        if resized.mode == "CMYK":
            profile = None  # a CMYK profile does not describe the RGB it is converted to
        resized = resized.convert("RGB")
    if back_on_palette:
        resized = resized.quantize(256, method=Image.Quantize.FASTOCTREE)
    if profile:
        options = {**options, "icc_profile": profile}
    if image_format == "PNG" and colours.chunks:
        options = {**options, "pnginfo": colours}
    buffer = BytesIO()
    resized.save(buffer, format=image_format, **options)
    return extension, buffer.getvalue()


# Samples of 16-bit grey, 0 to 65535, as 8-bit ones.
_SIXTEEN_TO_EIGHT_BITS = [value // 257 for value in range(65536)]


def _transparent_colour_as_alpha(image, image_format, data):
    """`image`, a decoded PNG in grey or full colour with a transparent colour (tRNS), with that
    colour on the scale of its decoded pixels, or as an alpha channel. Pillow 13 gives the colour
    as the file stores it but decodes the pixels to 8 bits: the white of 2- and 4-bit grey is 3
    or 15 against pixels of 255, a 16-bit colour's samples are 16-bit; and converting 16-bit
    grey to 8 bits clips its tones, so its alpha channel is made from its own 16-bit values."""
    # IHDR, first in a PNG (Pillow reads one where another chunk comes first, browsers do
    # not): the bit depth, then the colour type (0 grey, 2 full colour).
    if image_format != "PNG" or "transparency" not in image.info or data[12:16] != b"IHDR" or data[25] not in (0, 2):
        return image
    depth, colour = data[24], image.info["transparency"]
    if image.mode.startswith("I"):
        levels = image.convert("I")
        alpha = levels.point([0 if value == colour else 255 for value in range(65536)], "L")
        return Image.merge("LA", (levels.point(_SIXTEEN_TO_EIGHT_BITS, "L"), alpha))
    if depth < 8 and colour < 2**depth:  # Pillow scales 1-bit grey's itself (0 or 255)
        image.info["transparency"] = colour * 255 // (2**depth - 1)
    elif depth == 16:
        image.info["transparency"] = tuple(value >> 8 for value in colour)
    return image


def _colour_chunks(info):
    """A PNG's other statements of its colours, which Pillow reads but does not write: its
    gamma, chromaticities and sRGB intent. A browser draws a PNG with a gamma and no profile by
    that gamma: without it, a rendition shows other tones than the upload."""
    chunks = PngImagePlugin.PngInfo()
    if "gamma" in info:
        chunks.add(b"gAMA", struct.pack(">I", round(info["gamma"] * 100_000)))
    if "chromaticity" in info:
        chunks.add(b"cHRM", struct.pack(">8I", *(round(value * 100_000) for value in info["chromaticity"])))
    if "srgb" in info:
        chunks.add(b"sRGB", bytes([info["srgb"]]))
    return chunks


# How to turn an image stored with each EXIF orientation upright (as ImageOps.exif_transpose()
# does); 5-8 are a quarter turn, so width and height swap.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_QUARTER_TURNS = {5, 6, 7, 8}


def _orientation(opened):
    """The EXIF orientation of `opened`, from what opening it read: showing renditions that
    exist must not decode a 12-megapixel photo (~120 ms), as Pillow's getexif() does for a PNG
    to look for EXIF after its pixels (one before them, where the PNG spec puts it, is read at
    opening). From the EXIF block alone: getexif() takes XMP's tiff:Orientation where EXIF has
    none, which browsers ignore, so such a photo's renditions were turned where the browser
    shows the upload unturned (review r27b)."""
    block = opened.info.get("exif")
    if not block:
        return 1
    exif = Image.Exif()
    try:
        exif.load(block)
    except Exception:
        # One nobody can read (not TIFF inside): browsers turn nothing, and neither does this;
        # raising here left the picture without renditions (review r27h).
        return 1
    return exif.get(ExifTags.Base.Orientation, 1)


def _upright_size(opened, orientation):
    width, height = opened.size
    return (height, width) if orientation in _QUARTER_TURNS else (width, height)


def _upright(opened, orientation):
    """`opened` decoded and turned upright: the orientation that sized the renditions turns them."""
    turn = _UPRIGHT.get(orientation)
    if turn is not None:
        return opened.transpose(turn)
    # Not a copy: a 40-megapixel photo's decoded pixels are 160 MB.
    opened.load()
    return opened


def make_renditions(fieldfile, widths=LEAD.widths):
    """Make the renditions of `fieldfile` in `widths` that do not exist yet; return them all,
    smallest first."""
    [made] = make_renditions_in_sets(fieldfile, [widths])
    if isinstance(made, Exception):
        raise made
    return made


def make_renditions_in_sets(fieldfile, width_sets):
    """make_renditions() for each of `width_sets` (tuples of widths), from one read of the
    upload, each width made once: for each set, its renditions, or the error (logged) that
    kept one of them from being made. A width that cannot be written (a disk full by the
    1600 px copy) fails only the sets it is in, and an upload that cannot be decoded only the
    sets with a width missing on disk. An upload that cannot be read or opened raises."""
    storage, name = fieldfile.storage, fieldfile.name
    with storage.open(name, "rb") as file:
        # Read once, for the fingerprint and the picture alike: a file written over in place
        # between two reads would put the new picture under the old one's name.
        picture, data, whole = _fingerprint_and_bytes(file, held_at_most())
    try:
        return _made_in_sets(storage, name, picture, data, whole, width_sets)
    finally:
        # A failure's traceback keeps this frame too (the caller of _made_in_sets' frame).
        data = None


def held_at_most():
    """How many bytes of a picture's file are held to make its renditions: as many as an
    upload may have, or as a still picture within MAX_IMAGE_PIXELS can take, whichever is
    more: 16-bit RGBA stored uncompressed is 8 bytes a pixel, PNG's filter byte a row at most
    one more (a picture one pixel wide), and a megabyte for its metadata (review r28g). Not
    MAX_UPLOAD_SIZE alone: a picture uploaded before that was lowered would lose its
    renditions (review r28c). An animation may take more: one copied in past this gets none."""
    return max(settings.MAX_UPLOAD_SIZE, 9 * settings.MAX_IMAGE_PIXELS + 2**20)


def _made_in_sets(storage, name, picture, data, whole, width_sets):
    """make_renditions_in_sets() of the upload `name`, whose bytes are `data`: all of them, or
    where the file is larger than held_at_most() (a file of gigabytes copied in without
    loaddata), its beginning, whose headers find the renditions it has. Such a file is never
    decoded (review r27f)."""
    with _opened(name, data, whole) as opened:
        # A JPEG carrying a second picture (a camera's preview, a phone's HDR gain map) is what
        # Pillow calls MPO; browsers show its first, as a JPEG.
        image_format = "JPEG" if opened.format == "MPO" else opened.format
        if image_format not in _OUTPUT:
            # Nor will it have any after five minutes: a file too large to hold is not read
            # whole again for a day, as for other causes past the bound (review r29f).
            raise (ValueError if whole else TooLargeToHold)(f"{name}: {image_format} images have no renditions")
        opened.seek(0)  # a GIF's first frame
        extension = _OUTPUT[image_format][0]
        orientation = _orientation(opened)
        sizes_of_each_set = [target_sizes(*_upright_size(opened, orientation), widths) for widths in width_sets]
        targets = {size: rendition_name(name, picture, size[0], extension) for size in sum(sizes_of_each_set, [])}
        missing = [size for size, target in targets.items() if not _exists_touched(storage, target)]
        # Decoded only where one is missing: showing renditions that exist (as without the
        # cache) reads the file for its fingerprint, but never decodes it.
        image = undecodable = None
        back_on_palette = False
        if missing:
            try:
                _read_whole(name, whole)
                _within_the_pixel_limit(opened)
                image = _transparent_colour_as_alpha(_upright(opened, orientation), image_format, data)
                image, back_on_palette = _for_encoding(image, image_format)
            except Exception as error:
                undecodable = _logged(error, "no renditions for %s: it cannot be decoded", name)
        made = {}
        for size, target in targets.items():
            if size in missing:
                if undecodable is not None:
                    made[size] = undecodable
                    continue
                try:
                    _, encoded = _encode(image, image_format, size, back_on_palette)
                    put_whole(storage, target, encoded)
                except Exception as error:
                    made[size] = _logged(error, "no %sw rendition for %s", size[0], name)
                    continue
            made[size] = Rendition(target, storage.url(target), *size)
        # A failure's traceback keeps this frame, and with it its locals: not the picture,
        # whose pixels decoding left in `opened` too (Pillow's `with` does not free them).
        image = data = None
        opened.close()
    return [_all_or_an_error(storage, made, targets, sizes) for sizes in sizes_of_each_set]


def _fingerprint_and_bytes(file, limit):
    """(fingerprint, bytes, whole) of `file`. The fingerprint is what the picture is, whatever
    its name: the first 12 hex digits of the SHA-256 of all its bytes (about 1 ms a megabyte).
    The bytes are its first `limit`, and `whole` says whether that is all of it: a file of
    gigabytes copied into the media folder is never held in a visitor's request (review r27f).
    Read a megabyte at a time, into one buffer: a stream of another storage may give fewer
    bytes than asked before its end, a read of `limit` bytes would be allocated at once, and
    chunks joined would be held twice (review r28e)."""
    digest, kept, whole = hashlib.sha256(), BytesIO(), True
    while chunk := file.read(2**20):
        digest.update(chunk)
        room = limit - kept.tell()
        if len(chunk) > room:
            whole = False
        if room > 0:
            kept.write(chunk[:room])
    return digest.hexdigest()[:12], kept.getvalue(), whole


def _opened(name, data, whole):
    """`data` opened as a picture. Where it is only the beginning of a file too large to hold,
    a picture Pillow cannot open from its beginning (a WebP, read whole as it is opened; headers
    past it) is refused as too large to read, which is what it is."""
    try:
        return Image.open(BytesIO(data))
    except Exception:
        if whole:
            raise
        raise _too_large(name) from None


def _read_whole(name, whole):
    """Raise ValueError where the picture's bytes were not all held, before anything is decoded."""
    if not whole:
        raise _too_large(name)


def _too_large(name):
    return TooLargeToHold(
        f"{name}: larger than the {held_at_most():,} bytes a picture's file may take to make its renditions "
        "(the larger of MAX_UPLOAD_SIZE and what a still picture within MAX_IMAGE_PIXELS takes): not decoded"
    )


def _within_the_pixel_limit(opened):
    """Raise ValueError where `opened` has more pixels than the site accepts in an upload
    (MAX_IMAGE_PIXELS), before it is decoded. A picture copied into the media folder without
    loaddata (docs/importing.md) passed no upload check, and Pillow's own limit refuses only
    past 178 megapixels (a warning from 89): 0.7 GB decoded in a visitor's request (review
    r27b)."""
    width, height = opened.size
    if width * height > settings.MAX_IMAGE_PIXELS:
        raise ValueError(
            f"{width} × {height} pixels, more than the {settings.MAX_IMAGE_PIXELS:,} an upload may have "
            "(MAX_IMAGE_PIXELS): not decoded"
        )


def _exists_touched(storage, name):
    """Whether rendition `name` exists; one that does is marked as in use (its time set to now)
    where that is older than USED_MARK_SECONDS, on local disk: `make_renditions
    --delete-unused` keeps what was in use since then, such as the renditions a save finds in a
    transaction the command cannot see. Not at every look: a file's time is its validator for
    browsers and CDNs, and a write to a file server."""
    try:
        path = storage.path(name)
    except NotImplementedError:
        return storage.exists(name)
    try:
        if time.time() - os.stat(path).st_mtime > USED_MARK_SECONDS:
            os.utime(path)
    except FileNotFoundError:
        return False
    except OSError:  # read-only media, or another user's file: it exists
        return os.path.exists(path)
    return True


def _logged(error, message, *args):
    """`error`, being handled, logged, and returned with the locals of the frames it came
    through cleared: kept in the results, it would keep a decoded picture in memory (through
    a disk-full hour, one per image a page shows)."""
    logger.warning(message, *args, exc_info=True)
    traceback.clear_frames(error.__traceback__)
    return error


def _all_or_an_error(storage, made, targets, sizes):
    """The renditions of `sizes`, or the first error among them. A file too large to hold is
    then named with the renditions it awaits: `make_renditions` with a higher limit, in a
    process of its own, may make them (review r29f)."""
    error = next((made[size] for size in sizes if isinstance(made[size], Exception)), None)
    if error is None:
        return [made[size] for size in sizes]
    if isinstance(error, TooLargeToHold):
        awaited = tuple(Rendition(targets[size], storage.url(targets[size]), *size) for size in sizes)
        return TooLargeToHold(str(error), awaited).with_traceback(error.__traceback__)
    return error


def put_whole(storage, name, data):
    """Store `data` as `name` all at once. A rendition that exists is never made again, so a
    file cut short (a full disk, a worker killed mid-write) must never be there: on local
    storage it is written aside and renamed into place. Two processes making the same
    rendition write the same bytes; the last rename wins."""
    try:
        path = storage.path(name)
    except NotImplementedError:  # not on local disk: the storage's own save() is what it has
        saved = storage.save(name, ContentFile(data))
        if saved != name:  # another process made it meanwhile: keep theirs
            storage.delete(saved)
        return
    folder = os.path.dirname(path)
    for last_try in (False, True):
        try:
            # Inside: the folder's empty parent may go while makedirs() makes it (review r25l).
            os.makedirs(folder, exist_ok=True)
            handle, aside = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
            break
        except FileNotFoundError:  # an empty folder removed meanwhile (make_renditions --delete-unused)
            if last_try:
                raise
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(aside, storage.file_permissions_mode or 0o644)  # mkstemp's are owner-only
        os.replace(aside, path)
    except BaseException:
        os.unlink(aside)
        raise


def renditions_for(fieldfile, widths=CARDS):
    """The renditions in `widths` (CARDS or LEAD) of an image field's file, made if needed;
    [] without a usable image."""
    if not fieldfile:
        return []
    return _remembered_or_made(fieldfile, widths, _use_cache(cache.get, widths.key_for(fieldfile.name)))


def renditions_for_many(fieldfiles):
    """{name: renditions_for(fieldfile)} of the images among `fieldfiles`, for their cards,
    those remembered read from the cache in one request: a list of teasers makes one round
    trip to Redis, not one per image."""
    files = {fieldfile.name: fieldfile for fieldfile in fieldfiles if fieldfile}
    keys = {name: CARDS.key_for(name) for name in files}
    remembered = (_use_cache(cache.get_many, list(keys.values())) if keys else None) or {}
    return {name: _remembered_or_made(files[name], CARDS, remembered.get(key)) for name, key in keys.items()}


@dataclass(frozen=True)
class _Failed:
    """What the cache remembers of an image without renditions: when to try it again, unless its
    upload's file changes first (`file_state()`: a good picture copied over a broken one)."""

    until: datetime
    file_state: object
    # A file too large to hold: its set's renditions, shown as soon as they are all on disk.
    awaited: tuple = None


@dataclass(frozen=True)
class _Remembered:
    """What the cache remembers of an image's renditions, with the upload's file as it was when
    they were looked up (`file_state()`)."""

    renditions: list
    file_state: object


MISSING = "missing"


def file_state(fieldfile):
    """What changes whenever the upload's file is written, on local storage: its inode, size and
    modification and change times (one stat, a few microseconds; `rsync -a` keeps a copied
    file's modification time, not its inode or change time); MISSING where there is no file.
    None where that cannot be told (another storage; the stat failing otherwise, as on a mount
    in trouble): what the cache remembers is then trusted for its day.

    A process's local-memory cache learns of no other process's saves: this is how each process
    sees that a picture was copied over its upload (an import, docs/importing.md) at the next
    page that shows it."""
    try:
        path = fieldfile.storage.path(fieldfile.name)
    except (NotImplementedError, SuspiciousFileOperation):  # a name outside MEDIA_ROOT: never read
        return None
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return MISSING
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def _unchanged(remembered_state, fieldfile):
    if remembered_state is None:
        return True
    state = file_state(fieldfile)
    return state is None or state == remembered_state


def _remembered_or_made(fieldfile, widths, remembered):
    if isinstance(remembered, _Remembered) and _unchanged(remembered.file_state, fieldfile):
        return remembered.renditions
    if isinstance(remembered, _Failed) and _unchanged(remembered.file_state, fieldfile):
        if _all_on_disk(fieldfile.storage, remembered.awaited):
            found = _Remembered(list(remembered.awaited), remembered.file_state)
            _use_cache(cache.set, widths.key_for(fieldfile.name), found, _REMEMBERED_SECONDS)
            return found.renditions
        failed = remembered
    else:
        # Nothing remembered, or the upload's file written since.
        [made] = _made_and_remembered(fieldfile, [widths])
        if not isinstance(made, _Failed):
            return made
        failed = made
    # The page goes without the image until it is tried again (a file restored, a disk no
    # longer full), not until the next edit; and no longer than five minutes however long the
    # failure is remembered: a picture fixed, or made by make_renditions, moves no content
    # version, and a page made again finds it at the cost of a stat (review r29b).
    page_cache.keep_page_no_longer_than(min(failed.until, timezone.now() + timedelta(seconds=_FAILED_SECONDS)))
    return []


def _all_on_disk(storage, awaited):
    """Whether the renditions a file too large to hold awaits were made meanwhile, by
    `make_renditions` with a higher limit: with the local-memory cache, the app servers'
    memory of the failure was out of the command's reach for its day (review r29f). One stat
    each (an `exists()` on a storage without local paths), when a page showing it is made."""
    return bool(awaited) and all(_exists_touched(storage, rendition.name) for rendition in awaited)


def _made_and_remembered(fieldfile, width_sets):
    """For each of `width_sets` (Widths), remembered under its key: its renditions of
    `fieldfile`, those missing made, or where they cannot be made (logged), a _Failed."""
    state = file_state(fieldfile)  # before reading it: a file written meanwhile is read again
    try:
        made = make_renditions_in_sets(fieldfile, [widths.widths for widths in width_sets])
    except Exception as error:  # the upload missing, unreadable or not a picture
        made = [_logged(error, "no renditions for %s", fieldfile.name)] * len(width_sets)
    now = timezone.now()
    results, to_remember = [], {}  # {seconds: {key: what}}
    for widths, result in zip(width_sets, made):
        if isinstance(result, Exception):  # logged where caught
            seconds = _REMEMBERED_SECONDS if isinstance(result, TooLargeToHold) else _FAILED_SECONDS
            result = remembered = _Failed(now + timedelta(seconds=seconds), state, getattr(result, "awaited", None))
        else:
            seconds, remembered = _REMEMBERED_SECONDS, _Remembered(result, state)
        to_remember.setdefault(seconds, {})[widths.key_for(fieldfile.name)] = remembered
        results.append(result)
    for seconds, entries in to_remember.items():
        _use_cache(cache.set_many, entries, seconds)
    return results


def _use_cache(operation, *args):
    """The cache only saves looking on disk: with Redis failing (or left alone after it could
    not be reached, baltmet.cache_failures), renditions are found or made there, and pages
    still show."""
    if cache_failures.resting(DEFAULT_CACHE_ALIAS):
        return None
    try:
        return operation(*args)
    except Exception as error:
        cache_failures.record(DEFAULT_CACHE_ALIAS, error)
        logger.warning("renditions: cache unavailable", exc_info=True)
        return None


def make_renditions_on_save(sender, instance, raw=False, **kwargs):
    """post_save of a model with an `image` field: its renditions are ready before a page needs
    them. Made inside the save's transaction, though a photo takes a few hundred milliseconds:
    after the commit, the page cache's new version would come first, and a visitor's request
    in between would make them (a review measured one doing so)."""
    image = getattr(instance, "image", None)
    if image:
        make_every_width(image)


def make_every_width(image):
    """Make the renditions of `image` (an image field's file) in every set of widths, those
    missing on disk, whatever the cache remembers, and remember them: the names of its
    renditions, or None if a set has none (a missing or broken file, a rendition that could not
    be written; logged)."""
    # The cards' are among the lead image's: made once, remembered twice.
    made = _made_and_remembered(image, [LEAD, CARDS])
    if any(isinstance(each, _Failed) for each in made):
        return None
    return frozenset(rendition.name for renditions in made for rendition in renditions)


def connect_signals():
    from django.db.models.signals import post_save

    from news.models import Article
    from regions.models import Region

    for model in (Article, Region):
        post_save.connect(make_renditions_on_save, sender=model, dispatch_uid=f"renditions_{model._meta.label_lower}")
