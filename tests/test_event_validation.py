"""An event cannot end before it starts; addresses next to <slug> patterns are not slugs."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from news.models import Article, Event

pytestmark = pytest.mark.django_db


def _event(**fields):
    starts = timezone.now()
    values = {"title": "Conference", "slug": "conference", "starts": starts, "ends": starts + timedelta(hours=1)}
    values.update(fields)
    return Event(**values)


def test_full_clean_refuses_an_event_ending_before_it_starts():
    event = _event(ends=timezone.now() - timedelta(days=1))
    with pytest.raises(ValidationError) as error:
        event.full_clean()
    assert error.value.message_dict == {"ends": ["An event cannot end before it starts."]}


def test_an_event_may_end_when_it_starts():
    starts = timezone.now()
    _event(starts=starts, ends=starts).full_clean()


def test_the_database_refuses_an_event_ending_before_it_starts_even_without_validation():
    with pytest.raises(IntegrityError, match="event_ends_after_start"):
        _event(ends=timezone.now() - timedelta(days=1)).save()


def test_event_slug_calendar_is_reserved_for_the_calendar_address():
    with pytest.raises(ValidationError) as error:
        _event(slug="calendar").full_clean()
    assert list(error.value.message_dict) == ["slug"]


def test_article_slug_feed_is_reserved_for_the_feed_address():
    with pytest.raises(ValidationError) as error:
        Article(title="Feed", slug="feed").full_clean()
    assert list(error.value.message_dict) == ["slug"]
