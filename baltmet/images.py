"""
What the site accepts as an uploaded image: a raster image that Pillow opens, verifies and
decodes (its first picture whole, the headers of an animation's second; the frames after are
not checked, and nothing of the site shows them), in a format we serve (JPEG, PNG, GIF,
WebP), named for what it is, within the size and pixel limits, and carrying no markup a
browser could be tricked into running.

One check for every path: the admin's image fields (through their validator), the editor's
upload endpoint, and image files named by fixtures.
"""

import re
import warnings
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from PIL import Image

# Pillow's format name -> the extensions such a file may have.
FORMAT_EXTENSIONS = {
    "JPEG": {".jpg", ".jpeg"},
    "PNG": {".png"},
    "GIF": {".gif"},
    "WEBP": {".webp"},
}
# Markup that turns an image into a polyglot a browser could run as a page or script.
# Browsers sniff the start of a file, so any tag there is refused; further in, only tags long
# enough that compressed image data does not produce them by chance.
_MARKUP_AT_START = re.compile(rb"<\s*(script|html|head|body|svg|iframe|object|embed|\?php|!doctype)\b", re.IGNORECASE)
_MARKUP_ANYWHERE = re.compile(rb"<(script|iframe|object|!doctype)", re.IGNORECASE)
_SNIFFED_BYTES = 1024


def _read_all(file):
    file.seek(0)
    data = file.read()
    file.seek(0)
    return data


def validate_image_file(file):
    """The image fields' validator: checks a file as it is uploaded.

    A file already in storage passed this check when it was uploaded; reading it again on
    every later save of its object (up to MAX_UPLOAD_SIZE each time) would check nothing new.
    Files that arrive in storage another way, named by a fixture, are checked by
    baltmet.fixture_validation with check_image itself.
    """
    if getattr(file, "_committed", False):
        return
    check_image(file)


def check_image(file):
    """Raise ValidationError unless `file` is an acceptable image; leave it rewound."""
    name = getattr(file, "name", "") or ""
    try:
        size = file.size
    except (OSError, AttributeError):
        raise ValidationError("The file cannot be read.", code="unreadable") from None
    if size is not None and size > settings.MAX_UPLOAD_SIZE:
        raise ValidationError(
            f"The file is {filesizeformat(size)}; images may be at most {filesizeformat(settings.MAX_UPLOAD_SIZE)}.",
            code="too_large",
        )
    try:
        data = _read_all(file)
    except (OSError, ValueError):
        raise ValidationError("The file cannot be read.", code="unreadable") from None
    if _MARKUP_AT_START.search(data[:_SNIFFED_BYTES]) or _MARKUP_ANYWHERE.search(data):
        raise ValidationError("The file contains web page markup; only plain images are accepted.", code="markup")

    image_format, (width, height) = _opened(file, "verify")
    # A phone's or camera's JPEG with a second picture (a preview, a gain map) is what Pillow
    # calls MPO; browsers show its first, and the renditions take it as a JPEG (review r27h).
    image_format = "JPEG" if image_format == "MPO" else image_format
    if image_format not in FORMAT_EXTENSIONS:
        raise ValidationError(
            f"{image_format} images are not accepted; use JPEG, PNG, GIF or WebP.", code="unsupported_format"
        )
    if width * height > settings.MAX_IMAGE_PIXELS:
        raise ValidationError(
            f"The image is {width} × {height} pixels; at most {settings.MAX_IMAGE_PIXELS:,} pixels are accepted.",
            code="too_many_pixels",
        )
    extension = PurePosixPath(name).suffix.lower()
    if name and extension not in FORMAT_EXTENSIONS[image_format]:
        raise ValidationError(
            f"The file is named {extension or 'without an extension'} but is a {image_format} image; "
            "rename it to match its content.",
            code="extension_mismatch",
        )
    # Pillow's JPEG and GIF readers check nothing in verify(): a file cut short passed it, was
    # stored, and then had no renditions, its pages shown without it and `make_renditions
    # --delete-unused` refusing to run (review r27b). Decoded last, once its size is known to
    # be within the limit above: the one decode of an upload's check (a stored file is not
    # checked again, validate_image_file).
    _opened(file, "load")


def _opened(file, step):
    """The format and size of `file` opened as an image, after `step` ("verify" or "load");
    ValidationError if Pillow cannot open it or do that. Leaves it rewound."""
    opened_as = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            file.seek(0)
            with Image.open(file) as image:
                opened_as = image.format
                getattr(image, step)()
                if step == "load":
                    # Reads the second frame's headers, as django-ckeditor does on an upload
                    # in the editor: a GIF cut short there passed the check, then was a 500
                    # (review r27l).
                    getattr(image, "is_animated", False)
                return image.format, image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError("The image has too many pixels.", code="too_many_pixels") from None
    except MemoryError:
        raise  # the server's trouble, not the file's
    except Exception:
        # Opened as an image of a format we take, but not whole: PNG's verify() finds that,
        # JPEG's and GIF's only the decode (review r27j).
        if step == "load" or opened_as in (*FORMAT_EXTENSIONS, "MPO") or _starts_as_a_format_we_take(file):
            raise ValidationError(
                "The image is damaged or incomplete (cut short?); save or copy it again, and upload that.",
                code="damaged_image",
            ) from None
        raise ValidationError(
            "The file is not an image in a supported format (JPEG, PNG, GIF or WebP).", code="not_an_image"
        ) from None
    finally:
        file.seek(0)


def _starts_as_a_format_we_take(file):
    """Whether `file` begins as a format we take does, by Pillow's own test of each: a WebP is
    read whole as it is opened, and one cut short, or a JPEG cut in its headers, failed there
    and was called "not an image in a supported format" (review r27m)."""
    try:
        Image.init()
        file.seek(0)
        head = file.read(16)
        return any(accept(head) for name, (_, accept) in Image.OPEN.items() if name in FORMAT_EXTENSIONS and accept)
    except Exception:  # only the wording of a refusal hangs on it (Image.OPEN is Pillow's registry)
        return False
