"""
Site search across published news, events and regions.

`search(query)` returns the matches, best first, as a sequence Django's Paginator can page
through; slicing it yields `Result`s with a highlighted excerpt.

On PostgreSQL it is full-text search on the indexed `search_vector` columns
(baltmet.search_index): the visitor's words are parsed as a web search (websearch_to_tsquery:
"quoted phrases", -exclusions, `or`), stemmed in English, and the matches of the three kinds
are ranked together by ts_rank, where a word in a title weighs more than one in a lead, and
that more than one in a body. A query with no word to look for, only words to leave out
("-oslo", "cluster or -oslo"), finds nothing rather than nearly everything. A page costs a
fixed number of queries whatever the number of matches and whichever kinds a page shows:
one for the ranked page of (kind, pk) together with the number of matches, and one for its
objects and their headlines (ts_headline, only for the rows shown).

On SQLite (`make run`), the same function matches words as case-insensitive substrings: every
word must occur, "-word" must not; titles that match come first.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchQueryField, SearchRank
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connection
from django.db.models import BooleanField, CharField, DateTimeField, F, Func, Model, Q, Value
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import escape, strip_tags
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from baltmet.prepared import from_rows, prepared
from baltmet.search_index import CONFIG, excerpt_text
from news.models import Article, Event
from regions.models import Region

# Longer queries are cut, not refused; nobody types more, and it bounds the work per query:
# each word is one more term to test and rank every match against (on 100 000 articles, 66
# times a word in most of them took 456 ms, 12 times 185 ms, the most common word 128 ms).
MAX_QUERY_LENGTH = 200
MAX_QUERY_WORDS = 12
RESULTS_PER_PAGE = 10

KIND_LABELS = {"article": "News", "event": "Event", "region": "Region"}
# The date a result shows and, after rank, is ordered by.
DATE_FIELDS = {"article": "publish_at", "event": "starts", "region": "updated"}

# What a result shows of each kind (search.html): the fields read into its object, in columns
# every kind has in one UNION ALL (None where a kind has no such field): a title or name, the
# slug (its address), the date it is ordered by, an event's end and whether it lasts all day,
# and a place. Each column has one type in every part, so that the converters Django takes from
# the UNION's first part are those of every part.
SHOWN_COLUMNS = (CharField(), CharField(), DateTimeField(), DateTimeField(), BooleanField(), CharField())
SHOWN = {
    "article": (Article, ("title", "slug", DATE_FIELDS["article"], None, None, None)),
    "event": (Event, ("title", "slug", DATE_FIELDS["event"], "ends", "all_day", "city")),
    "region": (Region, ("name", "slug", DATE_FIELDS["region"], None, None, "country")),
}

# ts_headline marks matches with these (Unicode private-use characters, which no text needs);
# the excerpt is escaped as a whole, then each marked span becomes <mark>...</mark>.
_START, _STOP = "\ue000", "\ue001"
_MARKED = re.compile(f"{_START}([^{_START}{_STOP}]*){_STOP}")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_RUN = re.compile(r"\S+")
_WORD_MARKS = frozenset({"Mn", "Mc", "Me", "Nl"})  # Unicode categories
# The spacing marks PostgreSQL's parser (glibc's character classes) takes for separators, as
# tests/test_search_results.py checks against the server's own parser.
_SEPARATING_MARKS = frozenset(
    chr(code)
    for code in (
        0x1715, 0x1734, 0x1BF2, 0x1BF3, 0x1CE1, 0x1CF7, 0x302E, 0x302F, 0xA9C0, 0xABEC, 0x111C0, 0x11235,
        0x1134D, 0x116B6, 0x1193D, 0x1D165, 0x1D166, 0x1D16D, 0x1D16E, 0x1D16F, 0x1D170, 0x1D171, 0x1D172,
    )
)
# A run of minus signs before a word, and an "or" right after it. PostgreSQL's websearch
# parser reads a minus as a negation after white space or ( ) ! & | <, which it skips, and
# "or" as the operator when neither a letter, a digit, "-" nor "_" follows; it drops a
# negated "or" (a stop word), but not the start of a longer word ("or.ca", "or/x", "or@x").
_MINUS_RUN = re.compile(r"(?<![^\s!&|()<])-(?:[\s!&|()<]*-)*(?P<or>[\s!&|()<]*or(?=[^\w\-./@]|$))?", re.IGNORECASE)

EXCERPT_WORDS = 35
# What PostgreSQL's querytree() gives for a query no index can answer.
NOT_INDEXABLE = "T"


def clean_query(raw):
    """The visitor's query as searched: control characters (NUL included, which PostgreSQL
    refuses in text) become spaces, runs of white space one space, and it is cut to
    MAX_QUERY_LENGTH characters and MAX_QUERY_WORDS words ("or" counts)."""
    text = " ".join(_CONTROL_CHARACTERS.sub(" ", raw or "").split())[:MAX_QUERY_LENGTH]
    words = word_spans(text)
    if len(words) > MAX_QUERY_WORDS:
        text = text[: words[MAX_QUERY_WORDS - 1].end()]
    return text.strip()


def word_spans(text):
    """The spans of `text`'s words as PostgreSQL's parser finds them: runs of letters,
    decimal digits and combining marks (_in_a_word), also between quotes, commas and the like. Python's \\w would
    also take superscripts, subscripts, fractions and circled numbers ("co₂co₂…") for parts of
    a word, where PostgreSQL starts a new one."""
    letters_and_digits = "".join(c if _in_a_word(c) else " " for c in text)
    return list(_RUN.finditer(letters_and_digits))


def _in_a_word(character):
    """Whether PostgreSQL's parser takes `character` for part of a word: letters, decimal
    digits, and the combining marks (vowel signs in Devanagari, accents typed apart) and
    letter-like numerals, but a few spacing marks."""
    if character.isalpha() or character.isdecimal():
        return True
    # Circled and squared letters (Ⓐ, 🄰) are letters to the parser too, but not parenthesized
    # ones (⒜): counted apart, the cut comes a word early at worst, never late.
    return unicodedata.category(character) in _WORD_MARKS and character not in _SEPARATING_MARKS


def _minus_signs_counted(query):
    """`query` with each run of minus signs before a word ("--oslo", "- -oslo") as one minus
    where their number is odd and none where it is even: "--oslo" finds what "oslo" does.
    PostgreSQL would read it so too, but its querytree() drops every negation, and took it
    for a query with no word to look for."""
    # Inside quotes PostgreSQL reads no minus sign, and an "or" holds its place in the phrase.
    parts = query.split('"')
    parts[0::2] = [_MINUS_RUN.sub(_one_or_no_minus, outside) for outside in parts[0::2]]
    return '"'.join(parts)


def _one_or_no_minus(run):
    if run.group(0).count("-") % 2 == 0:
        return ""  # and a negated "or" with them: dropped, as PostgreSQL drops it
    return "-" + (run["or"] or "").strip()


@dataclass(frozen=True)
class Result:
    kind: str  # "article", "event" or "region"
    object: Model
    excerpt: str  # safe HTML: escaped text with <mark> around the matched words

    @property
    def kind_label(self):
        return KIND_LABELS[self.kind]

    @property
    def title(self):
        return self.object.name if self.kind == "region" else self.object.title

    @property
    def url(self):
        return self.object.get_absolute_url()

    @property
    def date(self):
        """When an article was published, when an event starts, when a region was last updated."""
        return getattr(self.object, DATE_FIELDS[self.kind])


def highlighted(headline):
    """Safe HTML from a ts_headline made with the sentinel delimiters."""
    html = _MARKED.sub(r"<mark>\1</mark>", escape(" ".join((headline or "").split())))
    return mark_safe(html.replace(_START, "").replace(_STOP, ""))


def _sources(now=None):
    """(kind, what the public may find at `now`, the date field) for each kind of result."""
    return [
        ("article", Article.objects.published(now), DATE_FIELDS["article"]),
        ("event", Event.objects.published(now), DATE_FIELDS["event"]),
        ("region", Region.objects.all(), DATE_FIELDS["region"]),
    ]


class RankedSearch:
    """The PostgreSQL search. `page()` reads one page of results and the number of matches in
    a single query (SearchPaginator uses it); count() and slices serve any other Paginator."""

    ORDER = "hit_rank DESC, hit_date DESC, hit_kind, hit_pk DESC"
    REVERSE_ORDER = "hit_rank, hit_date, hit_kind DESC, hit_pk"  # none of them is ever NULL

    def __init__(self, query):
        self.text = query
        self.query = SearchQuery(query, config=CONFIG, search_type="websearch")
        # PostgreSQL's querytree(): the part of the query the GIN index can answer, "T" where
        # there is none (every word negated, or "or" a negated word). Such a query would match,
        # and rank, nearly the whole archive (330 ms on 100 000 articles, and growing with it),
        # so it finds nothing, as on SQLite. The planner works it out before reading any row.
        self._index_part = Func(self.query, function="querytree", output_field=CharField())
        # The words looked for, joined by "or" (the index part's phrases and "and"s made "or"s):
        # what matches are ranked by and their excerpts marked with. With "and" or a phrase,
        # ts_rank scores every pair of positions of every two words, which grows with the square
        # of how often they occur (twelve common words on news-length articles: 2.5 s a page),
        # and ts_headline tries every stretch of text that holds a phrase, keeping its memory
        # (three phrases and a 10 KB article: 585 MB; a 1 MB one exhausted the server's memory).
        # Review r24o. Ranking then weighs each word's occurrences, not how close they are.
        self._words_looked_for = Cast(
            Func(self._index_part, Value("<[0-9]*-?>|&"), Value("|"), Value("g"), function="regexp_replace",
                 output_field=CharField()),
            SearchQueryField(),
        )

    def _matching(self, queryset):
        return (
            queryset.alias(index_part=self._index_part)
            .filter(search_vector=self.query)
            .exclude(index_part=NOT_INDEXABLE)
            .order_by()
        )

    def only_leaves_words_out(self):
        """Whether the query has no word to look for, only words to leave out (so it finds
        nothing): one query."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT querytree(websearch_to_tsquery(%s::regconfig, %s))", [CONFIG, self.text])
            return cursor.fetchone()[0] == NOT_INDEXABLE

    def _hits(self, now=None):
        """Every match of every kind as (hit_kind, hit_pk, hit_date, hit_rank), unordered;
        published at `now` (by default, the current time)."""
        parts = [
            self._matching(queryset)
            .annotate(
                hit_kind=Value(kind, output_field=CharField()),
                hit_pk=F("pk"),
                hit_date=F(date_field),
                # Ranked by the words looked for: with a negation in it, ts_rank gives every
                # match the same 1e-20, and each left-out word costs it more work per match.
                hit_rank=SearchRank(F("search_vector"), self._words_looked_for),
            )
            .values_list("hit_kind", "hit_pk", "hit_date", "hit_rank")
            for kind, queryset, date_field in _sources(now)
        ]
        return parts[0].union(*parts[1:], all=True)

    def count(self):
        parts = [self._matching(queryset).values("pk") for _, queryset, _ in _sources()]
        return parts[0].union(*parts[1:], all=True).count()

    def page(self, offset, limit):
        """(results from `offset` on, at most `limit`, and the number of matches), in one
        query: ranking must read every match anyway, so counting them there is free. The
        number is None when `offset` is past the last match (no row carries it)."""
        rows = self._ranked_rows(
            "SELECT hit_kind, hit_pk, COUNT(*) OVER () FROM ({hits}) AS hits "
            f"ORDER BY {self.ORDER} LIMIT %s OFFSET %s",
            limit,
            offset,
        )
        total = rows[0][2] if rows else (0 if offset == 0 else None)
        return self._results([(kind, pk) for kind, pk, _ in rows]), total

    def last_page(self, per_page):
        """(the results of the last page of `per_page`, and the number of matches), in one
        query, as page() does for the others."""
        # The last page is the first few in the reverse order: a top-N sort, as for any
        # other page, rather than numbering every match.
        rows = self._ranked_rows(
            "WITH hits AS MATERIALIZED ({hits}), counted AS (SELECT COUNT(*) AS total FROM hits) "
            f"SELECT hit_kind, hit_pk, (SELECT total FROM counted) FROM hits ORDER BY {self.REVERSE_ORDER} "
            "LIMIT (SELECT (total - 1) %% %s + 1 FROM counted)",
            per_page,
        )[::-1]
        return self._results([(kind, pk) for kind, pk, _ in rows]), (rows[0][2] if rows else 0)

    def _ranked_rows(self, sql, *params):
        """The rows of `sql`, a query in which "{hits}" stands for every match (_hits()), run with
        `params` after the matches' own."""
        hits, hits_params = _hits_query.sql_with(text=self.text, now=timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(sql.replace("{hits}", hits), (*hits_params, *params))
            return cursor.fetchall()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            raise TypeError("search results are read a page (a slice) at a time")
        rows = list(self._hits().order_by("-hit_rank", "-hit_date", "hit_kind", "-hit_pk")[index])
        return self._results([(kind, pk) for kind, pk, _, _ in rows])

    def _results(self, hits):
        """The objects of `hits` ([(kind, pk)], in order), with their headlines: one query for
        every kind on the page (a UNION ALL of a part per kind, in the columns of SHOWN), so that
        a page costs as many queries whichever kinds it shows; none for no hits."""
        # A part only for each kind on the page: building and compiling one (its headline's
        # expressions) takes about a millisecond, as long for a kind with no rows on the page,
        # which Django then leaves out of the UNION.
        on_page = {kind for kind, _ in hits}
        parts = [
            model._default_manager.filter(pk__in=[pk for hit_kind, pk in hits if hit_kind == kind])
            .order_by()
            .annotate(
                shown_kind=Value(kind, output_field=CharField()),
                shown_pk=F("pk"),
                shown_headline=self._headline(model),
                **{
                    # A typed NULL: PostgreSQL types a UNION's columns two parts at a time, and
                    # two plain NULLs before an event's part made text, which no timestamp meets
                    # (review r33).
                    f"shown_{n}": F(name) if name else Cast(Value(None), output_field=output)
                    for n, (name, output) in enumerate(zip(fields, SHOWN_COLUMNS))
                },
            )
            .values_list("shown_kind", "shown_pk", "shown_headline", *(f"shown_{n}" for n in range(len(fields))))
            for kind, (model, fields) in SHOWN.items()
            if kind in on_page
        ]
        if not parts:
            return []
        found = {}
        for kind, pk, headline, *columns in parts[0].union(*parts[1:], all=True):
            model, fields = SHOWN[kind]
            loaded = [(name, value) for name, value in zip(fields, columns) if name]
            obj = from_rows(
                model, [model._meta.pk.attname, *(name for name, _ in loaded)], [[pk, *(value for _, value in loaded)]]
            )[0]
            found[kind, pk] = Result(kind, obj, highlighted(headline))
        return [found[kind, pk] for kind, pk in hits if (kind, pk) in found]

    def _headline(self, model):
        return SearchHeadline(
            excerpt_text(model),
            self._words_looked_for,
            config=CONFIG,
            start_sel=_START,
            stop_sel=_STOP,
            max_words=EXCERPT_WORDS,
            min_words=15,
            max_fragments=2,
            fragment_delimiter=" … ",
        )


@prepared(plan_each_run=True)
def _hits_query(text: str, now: datetime):
    """RankedSearch(text)._hits(now), compiled once per process, thread and database (building
    and compiling its three parts took about 1.7 ms a results page); planned for each run, as
    how many rows match the words decides the plan."""
    return RankedSearch(text)._hits(now)


class SearchPaginator(Paginator):
    """Pages of search results, each read with the number of matches in one query when the
    results can do that (RankedSearch.page); otherwise Django's count, then slice."""

    # Pages beyond this are past the end of any search; their offset would not fit in SQL.
    MAX_PAGE = 1_000_000
    _last_page = None  # the last page's results, where they came with the count

    @cached_property
    def count(self):
        """The number of matches. Asked for before any page (ListView does, for ?page=last),
        it is read with the last page's results, which that page then shows."""
        if not hasattr(self.object_list, "last_page"):
            return super().count
        self._last_page, total = self.object_list.last_page(self.per_page)
        return total

    def page(self, number):
        if "count" in self.__dict__ and self._last_page is not None:
            if self.validate_number(number) == self.num_pages:
                return self._get_page(self._last_page, self.num_pages, self)
        if not hasattr(self.object_list, "page") or "count" in self.__dict__:
            return super().page(number)
        number = self.validate_number_format(number)
        if number > self.MAX_PAGE:
            raise EmptyPage(self.error_messages["no_results"])
        results, total = self.object_list.page((number - 1) * self.per_page, self.per_page)
        if total is None:
            # No match at this page's offset, past the first: past the last page, known
            # without counting every match again.
            raise EmptyPage(self.error_messages["no_results"])
        self.__dict__["count"] = total  # where Paginator caches it
        number = self.validate_number(number)
        return self._get_page(results, number, self)

    def validate_number_format(self, number):
        """Django's checks that need no count: a whole number, 1 or more."""
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"])
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number


class SimpleSearch:
    """The portable fallback for SQLite: substring matching, title matches first."""

    MAX_PER_KIND = 200
    FIELDS = {
        "article": ["title", "lead", "body"],
        "event": ["title", "lead", "body", "venue", "city", "country", "organisers"],
        "region": ["name", "designation", "country", "lead", "body", "knowledge", "policy"],
    }

    def __init__(self, query):
        words = query.replace('"', " ").split()
        self.excluded = [word[1:] for word in words if word.startswith("-") and len(word) > 1]
        self.required = [word for word in words if not word.startswith("-") and word.lower() != "or"]
        self.results = self._search() if self.required else []

    def _search(self):
        found = []
        for kind, queryset, date_field in _sources():
            fields = self.FIELDS[kind]
            for word in self.required:
                queryset = queryset.filter(self._anywhere(fields, word))
            for word in self.excluded:
                queryset = queryset.exclude(self._anywhere(fields, word))
            title_field = fields[0]
            for obj in queryset.order_by()[: self.MAX_PER_KIND]:
                title = getattr(obj, title_field).lower()
                in_title = all(word.lower() in title for word in self.required)
                found.append((in_title, getattr(obj, date_field), kind, obj))
        found.sort(key=lambda hit: (hit[0], hit[1]), reverse=True)
        return [Result(kind, obj, self._excerpt(obj)) for _, _, kind, obj in found]

    @staticmethod
    def _anywhere(fields, word):
        condition = Q()
        for field in fields:
            condition |= Q(**{f"{field}__icontains": word})
        return condition

    def _excerpt(self, obj):
        text = " ".join(strip_tags(getattr(obj, "lead", "") or getattr(obj, "body", "")).split())
        text = Truncator(text).words(EXCERPT_WORDS)
        pattern = re.compile("|".join(re.escape(word) for word in self.required), re.IGNORECASE)
        return highlighted(pattern.sub(lambda match: f"{_START}{match.group(0)}{_STOP}", text))

    def only_leaves_words_out(self):
        return not self.required and bool(self.excluded)

    def count(self):
        return len(self.results)

    def __getitem__(self, index):
        return self.results[index]


def search(query):
    """Published articles and events and the regions matching `query`, best first.

    `query` is what the visitor typed; it is cleaned here (clean_query). An empty query finds
    nothing."""
    query = clean_query(query)
    if not query:
        return []
    query = _minus_signs_counted(query)
    if connection.vendor == "postgresql":
        return RankedSearch(query)
    return SimpleSearch(query)

