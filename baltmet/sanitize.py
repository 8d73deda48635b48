"""
One HTML sanitiser for every rich-text field, on every save path.

Django's loaddata saves raw rows (no Model.save(), no field pre_save), but it still sends
pre_save with raw=True; so the sanitiser is a pre_save receiver, and the admin, the ORM and
fixtures all pass through the same function.
"""

import nh3
from ckeditor_uploader.fields import RichTextUploadingField
from django.conf import settings
from django.db.models.signals import pre_save
from django.dispatch import receiver

# What the CKEditor toolbar in settings.CKEDITOR_CONFIGS can produce, and nothing more.
ALLOWED_TAGS = {
    "p", "br", "h2", "h3", "h4", "strong", "b", "em", "i", "u", "s",
    "ul", "ol", "li", "blockquote", "a", "img", "figure", "figcaption",
    "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td", "hr",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height", "title"},
    "th": {"scope", "colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
    "table": {"summary"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def _filter_attribute(tag, attribute, value):
    # Images only from this site's media (relative URLs), never hot-linked or data: URLs.
    if tag == "img" and attribute == "src":
        return value if value.startswith(settings.MEDIA_URL) else None
    return value


def sanitize_html(html):
    """Return `html` with everything outside the editor's allow-list removed."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        attribute_filter=_filter_attribute,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


class SanitizedRichTextField(RichTextUploadingField):
    """A CKEditor rich-text field whose content is sanitised before every save."""


@receiver(pre_save)
def sanitize_rich_text(sender, instance, raw=False, **kwargs):
    for field in sender._meta.concrete_fields:
        if isinstance(field, SanitizedRichTextField):
            setattr(instance, field.attname, sanitize_html(getattr(instance, field.attname)))
