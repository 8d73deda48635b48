"""
The admin's search box for articles and events, answered from the full-text index.

Django's own admin search looks for each word as a substring of every search field
(`UPPER(body) LIKE UPPER('%word%')`), which no index can answer: on 100 000 articles a search
read every article's text, for the page, its count and the date hierarchy's two queries,
1.7-16 s a search (tens to hundreds of milliseconds here: bench/admin_search.py,
docs/performance.md). Here the words are looked up in the `search_vector` column the site's
search keeps (baltmet.search_index: title, lead, text, and for events the place and
organisers, stemmed in English), through its GIN index. The term is split into words
(`baltmet.search.word_spans`), and every word must occur:

- in any of its forms, as the site's search finds it ("batteries" finds "battery");
- from three letters on, also as the start of a word: "hydro" finds "hydrogen", and
  "innovat" finds "innovation", whose indexed stem "innov" is shorter than what was typed
  (the stems the stemmer makes of the typed start with a common ending, "innovat" + "ion",
  are looked for whole, "innovatio" + "n" too); a complete word finds no other words that
  merely start alike ("plant" does not find "planning", "international" not "internet",
  "model" not "modes");
- shorter words are matched whole: "eu" finds "EU", not "euro", and the event autocomplete
  of an article's form shows events from the third letter typed.

English stop words ("for", "the", "and"), which the index leaves out, are left out of a term
with other words, so that a pasted title finds its article; a term of stop words alone looks
for the words they start ("off" finds "offshore"). What PostgreSQL's parser reads as one
token, an e-mail address, a host, an address or a number after a hyphen ("2021-2027",
"covid-19"), is also looked for as it was indexed, and a number alone ("2027") also as the
one after a hyphen ("-2027").

A slug, or an address of the public site ending in one (query string and fragment left
aside), finds that item whatever its words. On SQLite (`make run`, no index) Django's
substring search is kept.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.contrib.postgres.search import SearchQuery
from django.core.validators import slug_unicode_re
from django.db import connections
from django.db.models import Q

from baltmet.search import clean_query, word_spans
from baltmet.search_index import CONFIG

# Words shorter than this are matched whole: as a prefix, one or two letters would find most
# articles ("R&D" as "r…" and "d…"), and read much of the index doing so.
MIN_PREFIX_LENGTH = 3
# The dictionary CONFIG stems English words with, and the endings whose stems a typed start
# may stand for ("universit" + "y" -> "univers"): common suffixes and every tail of them, for
# a start typed into the middle of one ("innovatio" + "n", "universi" + "ty"). A stem shorter
# than MIN_STEM_LENGTH is not looked for.
STEMMER = "english_stem"
_SUFFIXES = ["ation", "ition", "ions", "ility", "ability", "ies", "ity", "ing", "le", "es", "e", "y"]
ENDINGS = sorted({suffix[start:] for suffix in _SUFFIXES for start in range(len(suffix))})
MIN_STEM_LENGTH = 4
# What joins the parts of one token of PostgreSQL's parser: an e-mail address, a host, a URL,
# a path, a signed number after a word or number ("2021-2027", "covid-19").
_TOKEN_JOINERS = re.compile(r"[@./]|-(?=\d)")


@dataclass(frozen=True)
class _Word:
    """A word of the term, as the database's stemmer sees it."""

    text: str
    stop_word: bool
    stems_of_its_start: tuple  # shorter than the word, which the word starts with


def _query(text, config=CONFIG, prefix=False):
    """`text` as one to_tsquery operand: quoted, so that whatever it holds is text, never the
    query's syntax."""
    quoted = "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
    return SearchQuery(quoted + (":*" if prefix else ""), search_type="raw", config=config)


def _stemmed(words, using):
    """{word: _Word} for `words`, from one query to the database's stemmer (lower-cased there,
    as the index was: Python's lower() differs for "İ" and a final "Σ")."""
    if not words:
        return {}
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"""
            SELECT word, lower(word), ts_lexize('{STEMMER}', lower(word)) = '{{}}',
                   ARRAY(SELECT DISTINCT stem FROM unnest(%s::text[]) AS ending,
                         unnest(ts_lexize('{STEMMER}', lower(word) || ending)) AS stem)
            FROM unnest(%s::text[]) AS word
            """,
            [ENDINGS, list(words)],
        )
        rows = cursor.fetchall()
    return {
        word: _Word(
            lowered,
            bool(stop_word),
            tuple(
                stem
                for stem in stems
                if MIN_STEM_LENGTH <= len(stem) < len(lowered) and lowered.startswith(stem)
                # "model" + "y" is an adverb to the stemmer, cut to "mode": a word of its own.
                and not (lowered.endswith("l") and stem == lowered[:-1])
                and not any(character.isdigit() for character in lowered)
            ),
        )
        for word, lowered, stop_word, stems in rows
    }


def _word_query(word):
    """One word of the term (see the module docstring)."""
    query = _query(word.text)  # its forms, whole
    if word.text.isdecimal():  # after a hyphen the parser indexes "-2027" ("2021-2027")
        query |= _query("-" + word.text, config="simple", prefix=len(word.text) >= MIN_PREFIX_LENGTH)
    if len(word.text) >= MIN_PREFIX_LENGTH:
        query |= _query(word.text, config="simple", prefix=True)
        for stem in word.stems_of_its_start:
            query |= _query(stem, config="simple")
    return query


def words_query(term, using="default"):
    """The SearchQuery in which every word of `term` must occur, or None if it has none."""
    runs = [(run, [match.group() for match in word_spans(run)]) for run in term.split()]
    words = _stemmed({word for _, run_words in runs for word in run_words}, using)
    only_stop_words = all(word.stop_word for word in words.values())
    query = None
    for run, run_words in runs:
        looked_for = [words[word] for word in run_words if only_stop_words or not words[word].stop_word]
        if not looked_for:
            continue
        run_query = _word_query(looked_for[0])
        for word in looked_for[1:]:
            run_query &= _word_query(word)
        if len(run_words) > 1 and _TOKEN_JOINERS.search(run):
            run_query |= _query(run, prefix=True)
        query = run_query if query is None else query & run_query
    return query


def slugs_in(term):
    """The slugs `term` may name, as typed or at the end of an address ("/news/some-slug/?x=1"):
    as typed and in lower case, which the admin writes them in where it fills them in (an
    editor may type capitals, "BSR-Day"); empty where it cannot name one."""
    try:
        path = urlsplit(term.strip()).path
    except ValueError:  # not an address after all ("http://[oslo")
        return set()
    slug = path.rstrip("/").rsplit("/", 1)[-1]
    # What SlugField(allow_unicode=True) accepts; nothing else is looked up as a slug.
    return {slug, slug.lower()} if slug_unicode_re.match(slug) else set()


class IndexedSearchAdminMixin:
    """For a ModelAdmin of a model with a `search_vector` (baltmet.search_index) and a unique
    `slug`: its changelist's search through the index."""

    search_help_text = (
        "Finds items with all of these words in their text, in any of their forms; a word of "
        "three letters or more also finds the words it starts. Words such as \"the\" and \"for\" "
        "are left out. Or a slug or address."
    )

    def get_search_results(self, request, queryset, search_term):
        if connections[queryset.db].vendor != "postgresql":
            return super().get_search_results(request, queryset, search_term)
        # Control characters (NUL, which PostgreSQL refuses in text) out; cut as the site's search.
        term = clean_query(search_term)
        if not term:
            return queryset, False
        query = words_query(term, queryset.db)
        matches = Q(search_vector=query) if query is not None else Q(pk__in=[])
        # From the term as typed: the cut to twelve words would cut a long slug.
        slugs = slugs_in(search_term)
        if slugs:
            matches |= Q(slug__in=slugs)
        # As a semi-join (`id IN (SELECT id ... WHERE search_vector @@ ...)`), not the match in
        # the outer WHERE: there PostgreSQL answered the date hierarchy's MIN/MAX by walking the
        # newest-first index and testing each article, expecting a few hundred matches from
        # any word it has no statistics for; for a word no article has, that read them all
        # (665 ms on 100 000). The planner may still walk that index where it expects many
        # matches (a review saw 175 ms for four common words with 213 matches).
        return queryset.filter(pk__in=queryset.model._base_manager.filter(matches).values("pk")), False
