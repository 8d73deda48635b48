"""The events page's one list: the upcoming events, soonest first, then the past ones, most
recent first, read a page at a time, so that no page grows with the number of events."""

from django.utils import timezone

from baltmet.content_version import local_midnight


class UpcomingThenPast:
    """The events of `events` (an EventQuerySet), upcoming then past, as a sequence for
    Django's Paginator: counted in one query, and each page read with one more, whichever
    kinds it holds (two on SQLite, for a page of both). Every query asks at the same moment,
    so that the passing of time (an event ending) can neither show an event twice nor make it
    fall between the count and a page."""

    def __init__(self, events):
        self.now = timezone.now()
        self.midnight = local_midnight(self.now)
        self.events = events
        self._counts = None

    def counts(self):
        """(how many upcoming events, how many past ones)."""
        if self._counts is None:
            self._counts = self.events.upcoming_and_past_counts(self.now, self.midnight)
        return self._counts

    def count(self):
        return sum(self.counts())

    def __getitem__(self, page):
        if not isinstance(page, slice) or page.step is not None or page.stop is None:
            raise TypeError("read a page: [start:stop]")
        start, stop = page.start or 0, page.stop
        upcoming_count, _ = self.counts()
        upcoming, past = self.events.upcoming_and_past_slices(
            self.now,
            self.midnight,
            upcoming=(min(start, upcoming_count), min(stop, upcoming_count)),
            past=(max(start - upcoming_count, 0), max(stop - upcoming_count, 0)),
        )
        return EventsPage(upcoming, past)


class EventsPage(list):
    """A page's events in order, and its two parts as they were read (`upcoming`, `past`).

    On SQLite the parts come from separate queries: an editor's save between them (an event moved
    into the past, one unpublished after the count) must neither list an event twice nor
    file a past event under upcoming. So the parts are what each query gave, and an event
    the upcoming query gave is left out of the past."""

    def __init__(self, upcoming, past):
        shown = {event.pk for event in upcoming}
        self.upcoming, self.past = upcoming, [event for event in past if event.pk not in shown]
        super().__init__(self.upcoming + self.past)
