"""
Site search across published news, events and regions.

This is the simple, portable form (case-insensitive substring matching, all words must
match); full-text ranking on PostgreSQL is tracked separately (issue 6).
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from news.models import Article, Event
from regions.models import Region

MAX_QUERY_LENGTH = 200
MAX_TERMS = 8
MAX_RESULTS = 50


@dataclass(frozen=True)
class Result:
    kind: str
    title: str
    url: str
    date: datetime | None
    excerpt: str


def _terms(query):
    # NUL bytes cannot be sent to PostgreSQL; very long queries are cut rather than refused.
    cleaned = query.replace("\x00", " ")[:MAX_QUERY_LENGTH]
    return [term for term in cleaned.split() if term][:MAX_TERMS]


def _matching(queryset, fields, terms):
    for term in terms:
        any_field = Q()
        for field in fields:
            any_field |= Q(**{f"{field}__icontains": term})
        queryset = queryset.filter(any_field)
    return queryset


def search(query):
    terms = _terms(query)
    if not terms:
        return []
    articles = _matching(Article.objects.published(), ["title", "lead", "body"], terms)
    events = _matching(Event.objects.published(), ["title", "lead", "body", "city", "organisers"], terms)
    regions = _matching(Region.objects.all(), ["name", "country", "lead", "body", "policy"], terms)
    results = [
        *(Result("News", a.title, a.get_absolute_url(), a.publish_at, a.lead) for a in articles[:MAX_RESULTS]),
        *(Result("Event", e.title, e.get_absolute_url(), e.starts, e.lead) for e in events[:MAX_RESULTS]),
        *(Result("Region", r.name, r.get_absolute_url(), None, r.lead) for r in regions[:MAX_RESULTS]),
    ]
    return results
