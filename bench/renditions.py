#!/usr/bin/env python
"""
What making an image's renditions costs when an editor saves it (baltmet.renditions): the time
`make_renditions()` takes for a photo, made afresh each run, three ways:

- **320/640/960, Lanczos alone**: the widths and the filter before 26 November;
- **with 1600, Lanczos alone**: the lead image's width added;
- **with 1600, reducing_gap 3.0**, as the site makes them: a large reduction shrinks by a whole
  factor first (Pillow's reducing_gap), then the Lanczos filter.

The photos are made by the script (JPEG, quality 90; a smooth picture with detail and noise,
as a camera's), 12 and 24 megapixels. No database is needed; the files go to a temporary
folder. Median of --runs runs each, after a warm-up.

    .venv/bin/python bench/renditions.py [--runs 5]
"""

import argparse
import io
import os
import random
import sys
import tempfile

from scratch_db import PROJECT, median_ms, run_stopping_cleanly

sys.path.insert(0, str(PROJECT))

PHOTOS = ((4000, 3000), (6000, 4000))
WAYS = (
    ("320/640/960, Lanczos alone", (320, 640, 960), None),
    ("with 1600, Lanczos alone", (320, 640, 960, 1600), None),
    ("with 1600, reducing_gap 3.0 (the site)", (320, 640, 960, 1600), 3.0),
)


def photo(size, seed=1):
    from PIL import Image, ImageDraw, ImageFilter

    rnd = random.Random(seed)
    picture = Image.merge("RGB", [Image.linear_gradient("L").resize(size), Image.radial_gradient("L").resize(size),
                                  Image.linear_gradient("L").rotate(90).resize(size)])
    draw = ImageDraw.Draw(picture)
    width, height = size
    for _ in range(1500):
        x, y, r = rnd.randrange(width), rnd.randrange(height), rnd.randrange(5, width // 20)
        draw.ellipse((x, y, x + r, y + r), fill=tuple(rnd.randrange(256) for _ in range(3)))
    picture = picture.filter(ImageFilter.GaussianBlur(2))
    noise = Image.effect_noise(size, 24).convert("RGB")
    picture = Image.blend(picture, noise, 0.12)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


class _Upload:
    """What make_renditions() reads of an image field's file."""

    def __init__(self, storage, name):
        self.storage, self.name = storage, name


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each photo and way")
    options = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baltmet.settings")
    os.environ["DJANGO_DEBUG"] = "1"  # no database is opened; settings need no secret key
    import django

    django.setup()
    import PIL
    from django.core.files.storage import FileSystemStorage

    from baltmet import renditions

    print(f"Pillow {PIL.__version__}; {os.cpu_count()} CPUs; median of {options.runs} runs (ms)")
    print()
    print("| photo | upload | " + " | ".join(label for label, _, _ in WAYS) + " |")
    print("|---|---:|" + "---:|" * len(WAYS))
    for size in PHOTOS:
        data = photo(size)
        times = []
        for _, widths, gap in WAYS:
            renditions.REDUCING_GAP = gap
            with tempfile.TemporaryDirectory() as folder:
                storage = FileSystemStorage(location=folder, base_url="/media/")
                name = storage.save("news/photo.jpg", io.BytesIO(data))

                def make():
                    # Afresh each time, as for a new upload.
                    made = renditions.make_renditions(_Upload(storage, name), widths)
                    for rendition in made:
                        storage.delete(rendition.name)

                times.append(median_ms(make, options.runs))
        megapixels = size[0] * size[1] / 1e6
        print(f"| {size[0]} × {size[1]} ({megapixels:.0f} MP) | {len(data) // 1024} KB | "
              + " | ".join(f"{ms:.0f}" for ms in times) + " |")


if __name__ == "__main__":
    run_stopping_cleanly(main)
