"""Small builders for news tests: published, dated content unless a test says otherwise."""

from datetime import timedelta
from itertools import count

from django.utils import timezone
from django.utils.text import slugify

from news.models import Article, Event, Topic

_serial = count(1)


def _unique(prefix):
    return f"{prefix}-{next(_serial)}"


def make_topic(name=None, **fields):
    name = name or _unique("Topic")
    fields.setdefault("slug", slugify(name))
    return Topic.objects.create(name=name, **fields)


def make_article(title=None, *, topics=(), regions=(), **fields):
    title = title or _unique("Article")
    fields.setdefault("slug", slugify(title))
    fields.setdefault("status", Article.Status.PUBLISHED)
    fields.setdefault("publish_at", timezone.now() - timedelta(days=1))
    fields.setdefault("lead", f"The lead of {title}.")
    article = Article.objects.create(title=title, **fields)
    article.topics.set(topics)
    article.regions.set(regions)
    return article


def make_draft_article(title=None, **fields):
    return make_article(title, status=Article.Status.DRAFT, **fields)


def make_scheduled_article(title=None, **fields):
    return make_article(title, publish_at=timezone.now() + timedelta(days=3), **fields)


def make_event(title=None, *, starts=None, ends=None, **fields):
    """A published timed event, two hours long, a week from now unless told otherwise."""
    title = title or _unique("Event")
    fields.setdefault("slug", slugify(title))
    fields.setdefault("status", Event.Status.PUBLISHED)
    fields.setdefault("publish_at", timezone.now() - timedelta(days=1))
    fields.setdefault("all_day", False)
    starts = starts or timezone.now() + timedelta(days=7)
    ends = ends or starts + timedelta(hours=2)
    return Event.objects.create(title=title, starts=starts, ends=ends, **fields)


def make_past_event(title=None, **fields):
    starts = timezone.now() - timedelta(days=30)
    return make_event(title, starts=starts, ends=starts + timedelta(hours=2), **fields)
