"""Django's "Delete selected" action, for at most `delete_selected_limit` items at a time.

Its confirmation page lists every selected item and every row that goes with it (an
article's topics and regions), and the confirmed deletion collects and checks them all
again before deleting. On the demo archive (bench/admin_actions.py, docs/performance.md)
"Select all" and delete took, for 15 000 drafts, 6.5-7.3 s for the page (6.5 MB) and 9-10 s
for the deletion; for 100 000 articles 44-50 s for the page alone (43 MB), past gunicorn's
30 s, which ends the worker. Above the limit nothing is deleted and the editor is told to
narrow the list.

The confirmation page's form sends back each item's key with three fields of its own (the
CSRF token, the action, "post"): past DATA_UPLOAD_MAX_NUMBER_FIELDS, Django's 1000 by
default, it answers the confirmation with a bare 400 and deletes nothing. So the limit is
the lower of the model admin's and what that form can send back: 997.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.actions import delete_selected
from django.contrib.admin.utils import model_ngettext
from django.utils.formats import number_format

DELETE_SELECTED_LIMIT = 1000


_CONFIRMATION_FORMS_OWN_FIELDS = 3


def delete_selected_limit(modeladmin):
    """How many items `modeladmin` deletes at a time: its limit, or what the confirmation page's
    form can send back."""
    most_fields = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    if most_fields is None:
        return modeladmin.delete_selected_limit
    return min(modeladmin.delete_selected_limit, most_fields - _CONFIRMATION_FORMS_OWN_FIELDS)


def delete_selected_within_the_limit(modeladmin, request, queryset):
    selected = queryset.count()
    limit = delete_selected_limit(modeladmin)
    if selected <= limit:
        return delete_selected(modeladmin, request, queryset)
    modeladmin.message_user(
        request,
        f"{number_format(selected, force_grouping=True)} {model_ngettext(queryset, selected)} are selected: "
        f"delete at most {number_format(limit, force_grouping=True)} at a time. Narrow the list with its "
        f"filters or search, then select them again. Nothing was deleted.",
        messages.ERROR,
    )
    return None


class DeleteSelectedLimitMixin:
    delete_selected_limit = DELETE_SELECTED_LIMIT

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:  # the editor may delete: same place, same label
            _, name, description = actions["delete_selected"]
            actions[name] = (delete_selected_within_the_limit, name, description)
        return actions

