from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from baltmet import views
from baltmet.health import healthz

admin.site.site_header = "BaltMet Inno administration"
admin.site.site_title = "BaltMet Inno admin"
admin.site.index_title = "Content"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("news/", include("news.urls")),
    path("events/", include("news.event_urls")),
    path("regions/", include("regions.urls")),
    path("search/", views.SearchView.as_view(), name="search"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("ckeditor/", include("ckeditor_uploader.urls")),
]

if settings.SERVE_MEDIA:
    from django.views.static import serve

    urlpatterns.append(
        re_path(rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})
    )
