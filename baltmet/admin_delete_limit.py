"""Django's "Delete selected" action, for at most `delete_selected_limit` items at a time.

Its confirmation page lists every selected item and every row that goes with it (an
article's topics and regions), and the confirmed deletion collects and checks them all
again before deleting. On the demo archive (bench/admin_actions.py, docs/performance.md)
"Select all" and delete took, for 15 000 drafts, 6.5-7.3 s for the page (6.5 MB) and 9-10 s
for the deletion; for 100 000 articles 44-50 s for the page alone (43 MB), past gunicorn's
30 s, which ends the worker. Above the limit nothing is deleted and the editor is told to
narrow the list.
"""

from django.contrib import messages
from django.contrib.admin.actions import delete_selected
from django.contrib.admin.utils import model_ngettext
from django.utils.formats import number_format

DELETE_SELECTED_LIMIT = 1000


def delete_selected_within_the_limit(modeladmin, request, queryset):
    selected = queryset.count()
    limit = modeladmin.delete_selected_limit
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

