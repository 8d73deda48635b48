"""{% responsive_image image alt sizes css_class %}: an uploaded image as resized renditions."""

from django import template
from django.utils.html import format_html, format_html_join

from baltmet.renditions import renditions_for

register = template.Library()


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
    smallest = renditions[0]
    srcset = format_html_join(", ", "{} {}w", ((rendition.url, rendition.width) for rendition in renditions))
    return format_html(
        '<img{} src="{}" srcset="{}" sizes="{}" width="{}" height="{}" loading="lazy" decoding="async" alt="{}">',
        format_html(' class="{}"', css_class) if css_class else "",
        smallest.url,
        srcset,
        sizes,
        smallest.width,
        smallest.height,
        alt,
    )
