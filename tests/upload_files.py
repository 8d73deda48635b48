"""Files for upload tests: real images, and the kinds of hostile files the site must refuse."""

import io
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def image_bytes(fmt="PNG", size=(16, 12), mode="RGB"):
    buffer = io.BytesIO()
    Image.new(mode, size, "teal").save(buffer, fmt)
    return buffer.getvalue()


def busy_image_bytes(fmt, size=(64, 48)):
    """An image whose pixels do not compress away: most of its file is pixel data, so half of
    the file ends inside it (half of a plain one ends in its headers, which opening refuses)."""
    width, height = size
    pixels = bytes((i * i * 7 + i // 5) % 256 for i in range(width * height * 3))
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, pixels).save(buffer, fmt)
    return buffer.getvalue()


def first_half(data):
    return data[: len(data) // 2]


def upload(name, content, content_type="application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def png(name="harbour.png", size=(16, 12)):
    return upload(name, image_bytes("PNG", size), "image/png")


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def raw_png(width, height, depth, colour_type, pixels, *chunks):
    """A PNG written byte by byte, for what Pillow does not write (other bit depths and colour
    types, a header that lies): its IHDR, `chunks` ((kind, data) pairs), then `pixels` (the
    compressed rows) as its IDAT."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + b"".join(png_chunk(*chunk) for chunk in chunks)
        + png_chunk(b"IDAT", pixels)
        + png_chunk(b"IEND", b"")
    )


def decompression_bomb_png(width=100_000, height=100_000):
    """A tiny PNG whose header claims ten billion pixels."""
    return raw_png(width, height, 1, 0, zlib.compress(b"\x00" * 64))


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def hostile_files():
    """name -> an upload the site must refuse."""
    return {
        "svg": upload("logo.svg", SVG, "image/svg+xml"),
        "svg-named-png": upload("logo.png", SVG, "image/png"),
        "html-named-jpg": upload("photo.jpg", HTML, "image/jpeg"),
        "gif-html-polyglot": upload("anim.gif", image_bytes("GIF") + b"<script>alert(1)</script>", "image/gif"),
        "html-then-png": upload("mixed.png", b"<html><body>" + image_bytes("PNG"), "image/png"),
        "jpeg-named-png": upload("photo.png", image_bytes("JPEG"), "image/png"),
        "png-without-extension": upload("photo", image_bytes("PNG"), "image/png"),
        "bmp": upload("old.bmp", image_bytes("BMP"), "image/bmp"),
        "tiff": upload("scan.tiff", image_bytes("TIFF"), "image/tiff"),
        "truncated-png": upload("cut.png", image_bytes("PNG")[:40], "image/png"),
        # Pillow's verify() reads none of a JPEG's or GIF's pixels: these pass it (review r27b).
        "half-jpeg": upload("half.jpg", first_half(busy_image_bytes("JPEG")), "image/jpeg"),
        "half-gif": upload("half.gif", first_half(busy_image_bytes("GIF")), "image/gif"),
        "text-named-jpg": upload("notes.jpg", b"just some text, not an image", "image/jpeg"),
        "empty": upload("empty.png", b"", "image/png"),
        "decompression-bomb": upload("bomb.png", decompression_bomb_png(), "image/png"),
        "path-traversal-name-html": upload("../../templates/base.html", HTML, "text/html"),
    }
