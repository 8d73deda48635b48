from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from .models import Article, Topic


def floor(request):
    return HttpResponse("ok", content_type="text/plain")


def topics(request):
    return render(request, "pages/topics.html", {"topics": Topic.objects.all()})


def _published():
    return Article.objects.filter(status="published", publish_at__lte=timezone.now())


def news(request):
    latest = _published().order_by("-publish_at", "-id")[:10]
    return render(request, "pages/news.html", {"articles": latest})


def article(request, slug):
    return render(request, "pages/article.html", {"article": get_object_or_404(_published(), slug=slug)})
