"""An event cannot end before it starts; addresses next to <slug> patterns are not slugs."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
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


def test_importing_an_event_that_ends_before_it_starts_fails_with_the_validation_message(tmp_path):
    fixture = tmp_path / "bad_event.json"
    fixture.write_text(
        json.dumps(
            [
                {
                    "model": "news.event",
                    "fields": {
                        "title": "Backwards conference",
                        "slug": "backwards-conference",
                        "starts": "2007-11-13T10:00:00+01:00",
                        "ends": "2007-11-12T10:00:00+01:00",
                        "status": "published",
                        "publish_at": "2007-11-01T10:00:00+01:00",
                    },
                }
            ]
        )
    )
    # Refused by validation, with the model's message, before the database constraint is reached.
    with pytest.raises(CommandError, match='news.event "backwards-conference".*An event cannot end before it starts'):
        call_command("loaddata", str(fixture), verbosity=0)
    assert not Event.objects.exists()
