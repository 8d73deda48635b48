from django.conf import settings
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path, re_path

from baltmet import editor_uploads, views
from baltmet.conditional import conditional_on_content
from baltmet.health import healthz
from baltmet.sitemaps import SITEMAPS, sitemap_moments

admin.site.site_header = "BaltMet Inno administration"
admin.site.site_title = "BaltMet Inno admin"
admin.site.index_title = "Content"

# Crawlers get 304 Not Modified for the sitemaps until published content changes.
conditional_sitemap = conditional_on_content(sitemap_moments)

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("news/", include("news.urls")),
    path("events/", include("news.event_urls")),
    path("regions/", include("regions.urls")),
    path("search/", views.SearchView.as_view(), name="search"),
    path(
        "sitemap.xml",
        conditional_sitemap(sitemap_views.index),
        {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap-section"},
        name="sitemap",
    ),
    path(
        "sitemap-<section>.xml",
        conditional_sitemap(sitemap_views.sitemap),
        # Django's view, with the addresses written by {% sitemap_urls %} (baltmet.templatetags.sitemap_xml).
        {"sitemaps": SITEMAPS, "template_name": "sitemap_section.xml"},
        name="sitemap-section",
    ),
    path("robots.txt", views.RobotsView.as_view(), name="robots"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # The names are django-ckeditor's, which its widget reverses.
    path("ckeditor/upload/", editor_uploads.upload, name="ckeditor_upload"),
    path("ckeditor/browse/", editor_uploads.browse, name="ckeditor_browse"),
]

if settings.SERVE_MEDIA:
    from django.views.static import serve

    urlpatterns.append(
        re_path(rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})
    )
