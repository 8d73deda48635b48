"""
The admin's search box for articles and events, answered from the full-text index.

Django's own admin search looks for each word as a substring of every search field
(`UPPER(body) LIKE UPPER('%word%')`), which no index can answer: on 100 000 articles a search
read every article's text, for the page, its count and the date hierarchy's two queries,
1.8-16 s a search (27-805 ms here: bench/admin_search.py, docs/performance.md). Here the
words are looked up in the `search_vector` column the site's search keeps
(baltmet.search_index: title, lead, text, and for events the place and organisers, stemmed
in English), through its GIN index. The term is split into words as PostgreSQL's parser
splits text ("R&D" is two, "co-operation" three), and every word must occur:

- in any of its forms ("batteries" finds "battery");
- from three letters on, also as the start of a longer word: "hydro" finds "hydrogen", "off"
  finds "offshore" though "off" is a stop word, and "innovat" finds "innovation" though the
  index holds only its stem "innov" (a typed start whose last one or two letters the stemmer
  would cut is looked for as that stem too, which may find a few words that merely start
  alike). Shorter words are matched whole: "eu" finds "EU", not "euro", and the event
  autocomplete of an article's form shows events from the third letter typed;
- an e-mail address, a host or an address ("info@tehnopol.ee") also as the parser indexed it,
  one token.

A slug, or an address of the public site ending in one (query string and fragment left
aside), finds that item whatever its words. On SQLite (`make run`, no index) Django's
substring search is kept.
"""

import re
from urllib.parse import urlsplit

from django.contrib.postgres.search import SearchQuery
from django.db import connections
from django.db.models import Q

from baltmet.search import clean_query, word_spans
from baltmet.search_index import CONFIG

# What a slug is made of (SlugField, Unicode allowed); nothing else is looked up as one.
_SLUG = re.compile(r"[-\w]+")
# Words shorter than this are matched whole: as a prefix, one or two letters would find most
# articles ("R&D" as "r…" and "d…"), and read much of the index doing so.
MIN_PREFIX_LENGTH = 3
# The stems the stemmer may have cut from a typed start ("innovat" -> "innov"), and the
# shortest such stem looked for.
STEM_CUT = 2
MIN_STEM_LENGTH = 4
# What joins the parts of one token of the parser: an e-mail address, a host, a URL, a path.
_TOKEN_JOINERS = re.compile(r"[@./]")


def _query(text, config=CONFIG, prefix=False):
    """`text` as one to_tsquery operand: quoted, so that whatever it holds is text, never the
    query's syntax."""
    quoted = "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
    return SearchQuery(quoted + (":*" if prefix else ""), search_type="raw", config=config)


def _word_query(word):
    """One word of the term (see the module docstring)."""
    word = word.lower()
    if len(word) < MIN_PREFIX_LENGTH:
        return _query(word)
    query = _query(word, prefix=True) | _query(word, config="simple", prefix=True)
    for length in range(max(MIN_STEM_LENGTH, len(word) - STEM_CUT), len(word)):
        query |= _query(word[:length], config="simple")
    return query


def words_query(term):
    """The SearchQuery in which every word of `term` must occur, or None if it has none."""
    query = None
    for run in term.split():
        words = [match.group() for match in word_spans(run)]
        if not words:
            continue
        run_query = _word_query(words[0])
        for word in words[1:]:
            run_query &= _word_query(word)
        if len(words) > 1 and _TOKEN_JOINERS.search(run):
            run_query |= _query(run, prefix=True)
        query = run_query if query is None else query & run_query
    return query


def slug_in(term):
    """The slug `term` names, as typed or at the end of an address ("/news/some-slug/?x=1"),
    or None where it cannot name one. Slugs are written in lower case."""
    slug = urlsplit(term.strip()).path.rstrip("/").rsplit("/", 1)[-1].lower()
    return slug if _SLUG.fullmatch(slug) else None


class IndexedSearchAdminMixin:
    """For a ModelAdmin of a model with a `search_vector` (baltmet.search_index) and a unique
    `slug`: its changelist's search through the index."""

    search_help_text = (
        "Finds items with all of these words in their text, in any of their forms; a word of "
        "three letters or more also finds the words it starts. Or a slug or address."
    )

    def get_search_results(self, request, queryset, search_term):
        if connections[queryset.db].vendor != "postgresql":
            return super().get_search_results(request, queryset, search_term)
        # Control characters (NUL, which PostgreSQL refuses in text) out; cut as the site's search.
        term = clean_query(search_term)
        if not term:
            return queryset, False
        query = words_query(term)
        matches = Q(search_vector=query) if query is not None else Q(pk__in=[])
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
