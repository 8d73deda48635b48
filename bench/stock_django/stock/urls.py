from django.urls import path

from pages import views

urlpatterns = [
    path("floor/", views.floor, name="floor"),
    path("topics/", views.topics, name="topics"),
    path("news/", views.news, name="news"),
]
