"""The editors' side of news and events: rich text with uploads, previews and publishing."""

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import ngettext

from baltmet.admin_delete_limit import DeleteSelectedLimitMixin
from baltmet.admin_delete_summary import LinksCountedOnDeleteMixin
from baltmet.admin_log import log_rows
from baltmet.admin_search import IndexedSearchAdminMixin
from baltmet.publishing import Publishable
from news.models import Article, Event, Topic


# Ends the history entry of each item a bulk action changed: what one editor did to many items
# at once, not to this one in its form (generate_demo_content tells them apart).
BULK_ACTION_NOTE = " (admin action)."


class PublishingActionsMixin:
    """Admin actions that publish or unpublish the selected items, for editors who may change them.

    They leave publish_at alone, so an item scheduled for later stays scheduled after "publish";
    the message says so. Each change is written to the items' admin history, since a bulk
    update bypasses the change form that would otherwise record who did what.
    """

    actions = ["publish", "unpublish"]

    def _set_status(self, request, queryset, status):
        """Give the selected items that have another status `status`, each with an entry in its
        history; returns (how many changed, how many of them are scheduled for later). A few
        statements however many are selected ("Select all 100 000 articles"): no item is
        loaded, nor listed in the SQL."""
        now = timezone.now()
        # By their keys, as a filtered list's queryset may be DISTINCT, which takes no row
        # locks; and the status asked of the locked rows themselves, which PostgreSQL asks
        # again of a row another editor changed while this waited for its lock.
        changing = queryset.model.objects.filter(pk__in=queryset.exclude(status=status).values("pk")).exclude(
            status=status
        )
        with transaction.atomic(using=queryset.db):
            changed = log_rows(
                changing,
                user_id=request.user.pk,
                action_flag=CHANGE,
                change_message=f"Set status to {Publishable.Status(status).label.lower()}{BULK_ACTION_NOTE}",
                action_time=now,
                repr_field="title",  # what Article's and Event's str() give
            )
            scheduled = changed.filter(publish_at__gt=now).count() if status == Publishable.Status.PUBLISHED else 0
            return changed.update(status=status, updated=now), scheduled

    @admin.action(description="Publish the selected items", permissions=["change"])
    def publish(self, request, queryset):
        published, scheduled = self._set_status(request, queryset, Publishable.Status.PUBLISHED)
        message = ngettext("%d item published.", "%d items published.", published) % published
        if scheduled:
            message += " " + ngettext(
                "%d of them is scheduled and appears at its publish time.",
                "%d of them are scheduled and appear at their publish time.",
                scheduled,
            ) % scheduled
        self.message_user(request, message, messages.SUCCESS)

    @admin.action(description="Unpublish the selected items (back to draft)", permissions=["change"])
    def unpublish(self, request, queryset):
        count, _ = self._set_status(request, queryset, Publishable.Status.DRAFT)
        self.message_user(
            request, ngettext("%d item unpublished.", "%d items unpublished.", count) % count, messages.SUCCESS
        )


@admin.register(Topic)
class TopicAdmin(LinksCountedOnDeleteMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "updated"]
    search_fields = ["name", "description"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Article)
class ArticleAdmin(
    IndexedSearchAdminMixin, PublishingActionsMixin, DeleteSelectedLimitMixin, LinksCountedOnDeleteMixin, admin.ModelAdmin
):
    list_display = ["title", "status", "publish_at", "event", "updated"]
    list_filter = ["status", "topics", "regions", "publish_at"]
    list_select_related = ["event"]
    # What the index holds (IndexedSearchAdminMixin); searched as substrings on SQLite only.
    search_fields = ["title", "slug", "lead", "body"]
    date_hierarchy = "publish_at"
    prepopulated_fields = {"slug": ["title"]}
    # The region admin belongs to the regions app; a filter widget needs nothing from it.
    filter_horizontal = ["topics", "regions"]
    autocomplete_fields = ["event"]
    readonly_fields = ["created", "updated"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "lead", "body"]}),
        ("Lead image", {"fields": ["image", "image_alt"]}),
        ("Publishing", {"fields": ["status", "publish_at", "created", "updated"]}),
        ("Related", {"fields": ["topics", "regions", "event"]}),
    ]


@admin.register(Event)
class EventAdmin(
    IndexedSearchAdminMixin, PublishingActionsMixin, DeleteSelectedLimitMixin, LinksCountedOnDeleteMixin, admin.ModelAdmin
):
    list_display = ["title", "starts", "ends", "city", "status"]
    list_filter = ["status", "region", "starts"]
    list_select_related = ["region"]
    # What the index holds (IndexedSearchAdminMixin); searched as substrings on SQLite only.
    search_fields = ["title", "slug", "city", "country", "venue", "organisers", "lead"]
    date_hierarchy = "starts"
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["created", "updated"]
    # A registration link typed without a scheme is taken as https, as Django 6 will do.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (None, {"fields": ["title", "slug", "lead", "body"]}),
        ("When and where", {"fields": ["starts", "ends", "all_day", "venue", "city", "country", "region"]}),
        ("Organisers and registration", {"fields": ["organisers", "registration_url"]}),
        ("Publishing", {"fields": ["status", "publish_at", "created", "updated"]}),
    ]
