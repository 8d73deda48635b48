"""{% responsive_image image alt sizes css_class %} and {% lead_image image alt css_class %}: an
uploaded image as resized renditions."""

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from baltmet.markup import format_html
from baltmet.renditions import LEAD, renditions_for

register = template.Library()

# A lead image fills the article's or region's column: 48rem, or the screen less the page's
# margins, 1rem a side, 1.5rem from 40rem on (.article, .region-profile and .wrap in site.css).
LEAD_IMAGE_SIZES = "(min-width: 51rem) 48rem, (min-width: 40rem) calc(100vw - 3rem), calc(100vw - 2rem)"


@register.simple_tag
def responsive_image(image, alt, sizes="100vw", css_class="", renditions=None):
    """An <img> of `image`'s renditions (baltmet.renditions), never the upload itself: the
    smallest as src, all in srcset for the browser to choose by `sizes`, its width and height
    so the page does not jump, and loaded lazily. Nothing when there is no usable image.
    `renditions`: the image's, where the caller has them (renditions_for_many())."""
    if renditions is None:
        renditions = renditions_for(image)
    if not renditions:
        return ""
    return _img(renditions, renditions[0], alt, sizes, css_class, ' loading="lazy" decoding="async"')


@register.simple_tag
def lead_image(image, alt, css_class=""):
    """The <img> of a page's own image, at the top of it: its renditions as with
    responsive_image(), but loaded at once (it is what the visitor sees first) and as wide as
    its largest rendition, which the column's width then bounds, as it did the upload's."""
    renditions = renditions_for(image, LEAD)
    if not renditions:
        return ""
    return _img(renditions, renditions[-1], alt, LEAD_IMAGE_SIZES, css_class, "")


def _img(renditions, shown, alt, sizes, css_class, loading):
    srcset = format_html_join(", ", "{} {}w", ((rendition.url, rendition.width) for rendition in renditions))
    return format_html(
        '<img{} src="{}" srcset="{}" sizes="{}" width="{}" height="{}"{} alt="{}">',
        format_html(' class="{}"', css_class) if css_class else "",
        shown.url,
        srcset,
        sizes,
        shown.width,
        shown.height,
        mark_safe(loading),  # one of two fixed strings, never the content's
        alt,
    )
