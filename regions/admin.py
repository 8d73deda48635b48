from itertools import groupby

from django import forms
from django.contrib import admin
from django.db import models

from baltmet.admin_delete_summary import LinksCountedOnDeleteMixin
from regions.models import Cluster, Figure, Institution, Metric, Organisation, Region


# Editors paste addresses without a scheme; they mean https (and Django 6 will assume so too).
HTTPS_URLS = {models.URLField: {"assume_scheme": "https"}}


class MetricChoiceIterator(forms.models.ModelChoiceIterator):
    """Metric choices in <optgroup>s by group (Size, Education and R&D, Innovation)."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        # Metric's default ordering already sorts by group, then position.
        for label, metrics in groupby(self.queryset, key=lambda metric: metric.get_group_display()):
            yield (label, [self.choice(metric) for metric in metrics])


class MetricChoiceField(forms.ModelChoiceField):
    iterator = MetricChoiceIterator


class FigureInline(admin.TabularInline):
    model = Figure
    fields = ["metric", "qualifier", "value", "year", "source"]
    extra = 1

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "metric":
            kwargs["form_class"] = MetricChoiceField
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class InstitutionInline(admin.TabularInline):
    model = Institution
    fields = ["name", "slug", "kind", "students", "staff", "note", "website"]
    prepopulated_fields = {"slug": ["name"]}
    formfield_overrides = HTTPS_URLS
    extra = 0


class ClusterInline(admin.StackedInline):
    model = Cluster
    fields = [("name", "slug"), "niches", "network", "position", "description"]
    prepopulated_fields = {"slug": ["name"]}
    extra = 0


@admin.register(Region)
class RegionAdmin(LinksCountedOnDeleteMixin, admin.ModelAdmin):
    list_display = ["name", "country", "agency", "updated"]
    list_select_related = ["agency"]
    search_fields = ["name", "country", "designation", "lead"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["name", "slug", "country", "designation", "lead", "website"]}),
        ("Image", {"fields": ["image", "image_alt"]}),
        ("Profile", {"fields": ["knowledge", "body", "agency", "policy"]}),
    ]
    inlines = [FigureInline, InstitutionInline, ClusterInline]
    formfield_overrides = HTTPS_URLS
    view_on_site = True


@admin.register(Metric)
class MetricAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "unit", "group", "position", "headline"]
    list_editable = ["position"]
    list_filter = ["group", "headline"]
    search_fields = ["code", "name"]
    prepopulated_fields = {"code": ["name"]}


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "website"]
    list_filter = ["kind"]
    search_fields = ["name", "description"]
    prepopulated_fields = {"slug": ["name"]}
    formfield_overrides = HTTPS_URLS
