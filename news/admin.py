"""The editors' side of news and events: rich text with uploads, previews and publishing."""

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import models
from django.utils import timezone
from django.utils.translation import ngettext

from baltmet.admin_search import IndexedSearchAdminMixin
from baltmet.publishing import Publishable
from news.models import Article, Event, Topic


class PublishingActionsMixin:
    """Admin actions that publish or unpublish the selected items, for editors who may change them.

    They leave publish_at alone, so an item scheduled for later stays scheduled after "publish";
    the message says so. Each change is written to the items' admin history, since a bulk
    update bypasses the change form that would otherwise record who did what.
    """

    actions = ["publish", "unpublish"]

    def _set_status(self, request, queryset, status):
        to_change = list(queryset.exclude(status=status))
        if to_change:
            queryset.model.objects.filter(pk__in=[item.pk for item in to_change]).update(
                status=status, updated=timezone.now()
            )
            LogEntry.objects.log_actions(
                user_id=request.user.pk,
                queryset=to_change,
                action_flag=CHANGE,
                change_message=f"Set status to {Publishable.Status(status).label.lower()} (admin action).",
            )
        return to_change

    @admin.action(description="Publish the selected items", permissions=["change"])
    def publish(self, request, queryset):
        published = self._set_status(request, queryset, Publishable.Status.PUBLISHED)
        now = timezone.now()
        scheduled = sum(1 for item in published if item.publish_at > now)
        message = ngettext("%d item published.", "%d items published.", len(published)) % len(published)
        if scheduled:
            message += " " + ngettext(
                "%d of them is scheduled and appears at its publish time.",
                "%d of them are scheduled and appear at their publish time.",
                scheduled,
            ) % scheduled
        self.message_user(request, message, messages.SUCCESS)

    @admin.action(description="Unpublish the selected items (back to draft)", permissions=["change"])
    def unpublish(self, request, queryset):
        unpublished = self._set_status(request, queryset, Publishable.Status.DRAFT)
        count = len(unpublished)
        self.message_user(
            request, ngettext("%d item unpublished.", "%d items unpublished.", count) % count, messages.SUCCESS
        )


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "updated"]
    search_fields = ["name", "description"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Article)
class ArticleAdmin(IndexedSearchAdminMixin, PublishingActionsMixin, admin.ModelAdmin):
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
class EventAdmin(IndexedSearchAdminMixin, PublishingActionsMixin, admin.ModelAdmin):
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
