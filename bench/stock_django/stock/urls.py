from django.contrib import admin
from django.urls import path

from pages import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("floor/", views.floor, name="floor"),
    path("topics/", views.topics, name="topics"),
    path("news/", views.news, name="news"),
    path("news/<slug:slug>/", views.article, name="article"),
]
