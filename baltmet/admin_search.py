"""
The admin's search box for articles and events, answered from the full-text index.

Django's own admin search looks for each word as a substring of every search field
(`UPPER(body) LIKE UPPER('%word%')`), which no index can answer: on 100 000 articles a search
read every article's text, for the page, its count and the date hierarchy's two queries,
1.8-6.5 s a search (26-640 ms here: bench/admin_search.py, docs/performance.md). Here the
words are looked up in the `search_vector` column the site's search keeps
(baltmet.search_index: title, lead, text, and for events the place and organisers, stemmed
in English), through its GIN index:

- every word must occur, in any of its forms, and as the start of a word too once it has
  three characters ("clust" finds "clusters"; "eu" finds only "EU");
- a slug, or an address of the public site ending in one, finds that item whatever its words.

On SQLite (`make run`, no index) Django's substring search is kept.
"""

import re

from django.contrib.postgres.search import SearchQuery
from django.db import connections
from django.db.models import Q

from baltmet.search import clean_query
from baltmet.search_index import CONFIG

# What a slug is made of (SlugField, Unicode allowed); nothing else is looked up as one.
_SLUG = re.compile(r"[-\w]+")
# Shorter words are matched whole: a prefix of one or two letters would match a large part of
# the index's words, and each of them would be read.
MIN_PREFIX_LENGTH = 3


def _operand(run):
    """One run of non-space characters as a to_tsquery operand: quoted, so that whatever it
    holds is text, never the query's syntax (PostgreSQL's parser then splits it into words as
    it split the indexed text, "co-operation" into a phrase); a prefix from MIN_PREFIX_LENGTH."""
    quoted = "'" + run.replace("\\", "\\\\").replace("'", "''") + "'"
    return quoted + ":*" if len(run) >= MIN_PREFIX_LENGTH else quoted


def words_query(term):
    """The search term as a SearchQuery in which every word must occur (see the module docstring)."""
    return SearchQuery(" & ".join(_operand(run) for run in term.split()), search_type="raw", config=CONFIG)


def slug_in(term):
    """The slug `term` names, as typed or at the end of an address ("/news/some-slug/"), or
    None where it cannot name one."""
    slug = term.strip().rstrip("/").rsplit("/", 1)[-1]
    return slug if _SLUG.fullmatch(slug) else None


class IndexedSearchAdminMixin:
    """For a ModelAdmin of a model with a `search_vector` (baltmet.search_index) and a unique
    `slug`: its changelist's search through the index."""

    search_help_text = (
        "Finds items with all of these words in their text (a word of three letters or more also "
        "finds the words it starts), or with this slug or address."
    )

    def get_search_results(self, request, queryset, search_term):
        if connections[queryset.db].vendor != "postgresql":
            return super().get_search_results(request, queryset, search_term)
        # Control characters (NUL, which PostgreSQL refuses in text) out; cut as the site's search.
        term = clean_query(search_term)
        if not term:
            return queryset, False
        matches = Q(search_vector=words_query(term))
        # From the term as typed: the cut to twelve words would cut a long slug.
        slug = slug_in(search_term)
        if slug:
            matches |= Q(slug=slug)
        # As a semi-join (`id IN (SELECT id ... WHERE search_vector @@ ...)`), not the match in
        # the outer WHERE: there PostgreSQL answered the date hierarchy's MIN/MAX by walking the
        # newest-first index and testing each article, expecting a few hundred matches from
        # any word it has no statistics for; for a word no article has, that read them all
        # (665 ms on 100 000). Here it looks the matches up in the index first, however few.
        return queryset.filter(pk__in=queryset.model._base_manager.filter(matches).values("pk")), False
