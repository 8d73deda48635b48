from django.urls import path

from news import views

app_name = "events"

# calendar.ics comes before <slug>.ics, which it would otherwise match with slug "calendar".
urlpatterns = [
    path("", views.EventListView.as_view(), name="list"),
    path("calendar.ics", views.EventCalendarView.as_view(), name="calendar"),
    path("<slug:slug>.ics", views.EventICalendarView.as_view(), name="ics"),
    path("<slug:slug>/", views.EventDetailView.as_view(), name="detail"),
    path("<slug:slug>/news/", views.EventNewsListView.as_view(), name="news"),
]
