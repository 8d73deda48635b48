"""Make the missing renditions of every article's and region's image, and remember them.

Saves make an image's renditions themselves (baltmet.renditions); a page that finds none makes
them in a visitor's request, a few hundred milliseconds a photo. Run this after pictures were
copied into MEDIA_ROOT without a save, after an upgrade that names renditions anew (27 November
2026: named after the upload's bytes, then after how they are encoded too; any release that
changes renditions.ENCODING), or after emptying MEDIA_ROOT/renditions/, so that no visitor
waits for them. Renditions already on disk are not made again."""

from django.core.management.base import BaseCommand, CommandError

from baltmet.renditions import make_every_width
from news.models import Article
from regions.models import Region


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def handle(self, *args, **options):
        field = Article._meta.get_field("image")  # a region's image is stored alike
        names = set()
        for model in (Article, Region):
            names.update(model._base_manager.exclude(image="").values_list("image", flat=True).distinct().order_by())
        images, failed = len(names), 0
        for name in sorted(names):
            if not make_every_width(field.attr_class(None, field, name)):
                failed += 1
                self.stderr.write(f"No renditions for {name}: the file is missing or not an image (see the log).")
        if options["verbosity"]:
            self.stdout.write(f"Renditions of {images - failed} of {images} images are in place.")
        if failed:
            raise CommandError(f"{failed} of {images} images have no renditions.")
