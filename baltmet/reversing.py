"""
URL reversing without the cost of `reverse()` on every link of every page.

A page links to the same few named URLs (the navigation, "All news") and to many items by
slug. `reverse()` walks the resolver each time (about 20 µs), and a news page made ~36 such
calls. What a URL name reverses to does not depend on content, only on the URL
configuration, the script prefix and the language, so it is worked out once per process for
each combination of those and then reused:

- `fixed_url(name)`: a URL without arguments, e.g. fixed_url("news:list") == "/news/".
- `slug_url(name, slug)`: a URL whose only argument is a slug, from the text around the slug,
  e.g. slug_url("news:detail", "x") == "/news/x/"; `slug_urls(name)` gives it as a function
  of the slug, for many links of one kind.

Both give exactly what `reverse()` gives. A slug that the `slug` path converter would not
accept (or one that is not a string) goes through `reverse()` itself, which raises
NoReverseMatch or converts it as before. What they do not look at is the current
application: each app's URLs are included once, and an app included again under another
instance namespace would have its links point to the first (as `reverse()` without
`current_app` does).
"""

import re

from django.urls import get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language

# The `slug` path converter's pattern: such a slug is put into the URL as it is (reverse()
# quotes nothing in it).
_SLUG = re.compile(r"[-a-zA-Z0-9_]+\Z")
# A valid slug that no URL pattern contains, reversed in place of a real one to find the text
# around it.
_MARKER = "SLUG-MARKER-0"

_fixed = {}
_around_slug = {}
# The combinations are few (URL names × configurations × prefixes × languages); should a
# server pass on client-chosen script prefixes, the memo is emptied rather than let grow.
_MAX_ENTRIES = 1000


def _remember(memo, key, value):
    if len(memo) >= _MAX_ENTRIES:
        memo.clear()
    memo[key] = value
    return value


def _key(name):
    # What reverse() depends on besides the name: the URL configuration of this request (or
    # the settings'), the script prefix the site is mounted under, and the language. The
    # configuration as loaded, not its module's name: clear_url_caches() makes a new resolver,
    # so patterns changed under the same name are not answered from the old ones.
    return (name, get_resolver(get_urlconf()), get_script_prefix(), get_language())


def fixed_url(name):
    """reverse(name) for a URL name that takes no arguments, reversed once per process."""
    key = _key(name)
    url = _fixed.get(key)
    if url is None:
        url = _remember(_fixed, key, reverse(name))
    return url


def slug_url(name, slug):
    """reverse(name, args=[slug]) for a URL name whose one argument is a slug."""
    return slug_urls(name)(slug)


def slug_urls(name):
    """slug_url(name, ·) as a function of the slug, with what reverse() depends on read once:
    for a list of links to items of one kind, where reading it for each (~8 µs) was a sixth of
    writing a teaser. Use it within one request, as that may change between requests."""
    key = _key(name)
    around = _around_slug.get(key)
    if around is None:
        around = _remember(_around_slug, key, tuple(reverse(name, args=[_MARKER]).split(_MARKER)))
    if len(around) != 2:
        return lambda slug: reverse(name, args=[slug])
    before, after = around

    def url(slug):
        if not (isinstance(slug, str) and _SLUG.match(slug)):
            return reverse(name, args=[slug])
        return before + slug + after

    return url
