"""The admin's delete confirmation with the many-to-many rows Django made counted, not listed.

Django's page (`django.contrib.admin.utils.get_deleted_objects`) lists every row a deletion
takes with it, each link of an article to a topic or a region too ("Article-topic
relationship: Article_topics object (81234)"), and loads them all to do so. On 100 000 demo
articles, deleting the topic that 17 002 of them have took 0.9 s and a 1.2 MB page, and
"Delete selected" on all twelve topics 8 s and 14 MB (review r11); both grow with the
archive. Here those rows are counted in the page's summary ("Article-topic relationships:
17002"), not listed, and not loaded: the deletion removes them with one statement each.

The function is Django 5.2's, with the collector swapped: Django offers no hook for that.
"""

from django.contrib.admin.utils import NestedObjects, quote
from django.db import router
from django.db.models.deletion import Collector
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import capfirst


class _LinksCounted(NestedObjects):
    """Django's collector for the confirmation page, but the many-to-many rows it made itself
    are left as querysets (`fast_deletes`), as the deletion's own collector leaves them."""

    def can_fast_delete(self, objs, from_field=None):
        model = objs._meta.model if hasattr(objs, "_meta") else getattr(objs, "model", None)
        if model is not None and model._meta.auto_created:
            return Collector.can_fast_delete(self, objs, from_field=from_field)
        return False


def get_deleted_objects(objs, request, admin_site):
    """(to_delete, model_count, perms_needed, protected), as Django's, with the many-to-many
    rows only in model_count."""
    try:
        obj = objs[0]
    except IndexError:
        return [], {}, set(), []
    collector = _LinksCounted(using=router.db_for_write(obj._meta.model), origin=objs)
    collector.collect(objs)
    perms_needed = set()

    def format_callback(obj):
        opts = obj._meta
        no_edit_link = "%s: %s" % (capfirst(opts.verbose_name), obj)
        if not admin_site.is_registered(obj.__class__):
            return no_edit_link
        if not admin_site.get_model_admin(obj.__class__).has_delete_permission(request, obj):
            perms_needed.add(opts.verbose_name)
        try:
            admin_url = reverse(f"{admin_site.name}:{opts.app_label}_{opts.model_name}_change", None, (quote(obj.pk),))
        except NoReverseMatch:
            return no_edit_link
        return format_html('{}: <a href="{}">{}</a>', capfirst(opts.verbose_name), admin_url, obj)

    to_delete = collector.nested(format_callback)
    protected = [format_callback(obj) for obj in collector.protected]
    model_count = {model._meta.verbose_name_plural: len(objs) for model, objs in collector.model_objs.items()}
    for links in collector.fast_deletes:
        name = links.model._meta.verbose_name_plural
        model_count[name] = model_count.get(name, 0) + links.count()
    return to_delete, model_count, perms_needed, protected


class LinksCountedOnDeleteMixin:
    def get_deleted_objects(self, objs, request):
        return get_deleted_objects(objs, request, self.admin_site)
