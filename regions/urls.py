from django.urls import path

from regions import views

app_name = "regions"

# compare/ comes before <slug>/, which would otherwise take "compare" for a region's slug.
urlpatterns = [
    path("", views.RegionListView.as_view(), name="list"),
    path("compare/", views.RegionCompareView.as_view(), name="compare"),
    path("<slug:slug>/", views.RegionDetailView.as_view(), name="detail"),
]
