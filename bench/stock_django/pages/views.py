from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from .models import Article, Topic


def floor(request):
    return HttpResponse("ok", content_type="text/plain")


def topics(request):
    return render(request, "pages/topics.html", {"topics": Topic.objects.all()})


def news(request):
    latest = Article.objects.filter(status="published", publish_at__lte=timezone.now()).order_by("-publish_at", "-id")
    return render(request, "pages/news.html", {"articles": latest[:10]})
