"""The events page's one list: the upcoming events, soonest first, then the past ones, most
recent first, read a page at a time, so that no page grows with the number of events."""

from django.utils import timezone

from baltmet.page_cache import local_midnight


class UpcomingThenPast:
    """The events of `events` (an EventQuerySet), upcoming then past, as a sequence for
    Django's Paginator: counted in one query, and each page read with one query for each kind
    it holds. Every query asks at the same moment, so that an event ending meanwhile can
    neither show twice nor fall between the count and a page."""

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
        items = []
        if start < upcoming_count:
            upcoming = self.events.upcoming(self.now, self.midnight).for_lists()
            items += upcoming[start : min(stop, upcoming_count)]
        if stop > upcoming_count:
            past = self.events.past(self.now, self.midnight).for_lists()
            items += past[max(start - upcoming_count, 0) : stop - upcoming_count]
        return items

    def split(self, page):
        """(the upcoming events of the Paginator's `page`, its past ones)."""
        upcoming_on_page = max(0, min(self.counts()[0] - (page.start_index() - 1), len(page.object_list)))
        return page.object_list[:upcoming_on_page], page.object_list[upcoming_on_page:]
