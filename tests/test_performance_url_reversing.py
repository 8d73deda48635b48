"""Links are reversed once per process (baltmet.reversing), and still say exactly what
reverse() says: for every URL configuration, script prefix and slug."""

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, clear_script_prefix, clear_url_caches, include, path, reverse, set_script_prefix

from baltmet.reversing import fixed_url, slug_url, slug_urls
from tests import urls_switchable


@pytest.mark.parametrize("name", ["home", "news:list", "news:feed", "news:atom", "events:list", "events:calendar", "regions:list", "regions:compare", "search"])
def test_fixed_url_is_what_reverse_gives(name):
    assert fixed_url(name) == reverse(name)


@pytest.mark.parametrize("name", ["news:detail", "news:topic", "events:detail", "events:ics", "regions:detail"])
@pytest.mark.parametrize("slug", ["riga-forum", "a", "Mixed_Case-2", "SLUG-MARKER-0"])
def test_slug_url_is_what_reverse_gives(name, slug):
    assert slug_url(name, slug) == reverse(name, args=[slug])
    assert slug_urls(name)(slug) == reverse(name, args=[slug])


@pytest.mark.parametrize("slug", ["", "has space", "slash/in", "ümlaut"])
def test_a_slug_the_url_does_not_accept_is_refused_as_by_reverse(slug):
    with pytest.raises(NoReverseMatch):
        slug_url("news:detail", slug)
    with pytest.raises(NoReverseMatch):
        slug_urls("news:detail")(slug)


def test_a_slug_that_is_not_a_string_is_converted_as_by_reverse():
    assert slug_url("news:detail", 2030) == reverse("news:detail", args=[2030]) == "/news/2030/"


def test_a_site_under_a_script_prefix_links_under_it():
    assert slug_url("news:detail", "x") == "/news/x/"
    set_script_prefix("/site/")
    try:
        assert fixed_url("news:list") == "/site/news/"
        assert slug_url("news:detail", "x") == "/site/news/x/"
    finally:
        clear_script_prefix()
    assert fixed_url("news:list") == "/news/"


def test_another_url_configuration_is_reversed_on_its_own(settings):
    assert fixed_url("home") == "/"
    assert slug_url("news:detail", "x") == "/news/x/"
    settings.ROOT_URLCONF = "tests.urls_mounted_elsewhere"
    assert fixed_url("home") == reverse("home") == "/site/"
    assert slug_url("news:detail", "x") == reverse("news:detail", args=["x"]) == "/site/news/x/"


def test_links_follow_patterns_changed_under_the_same_configuration_name(settings):
    settings.ROOT_URLCONF = "tests.urls_switchable"
    assert fixed_url("news:list") == "/news/"
    assert slug_url("news:detail", "x") == "/news/x/"
    saved = urls_switchable.urlpatterns[:]
    urls_switchable.urlpatterns[:] = [path("moved/", include("baltmet.urls"))]
    clear_url_caches()  # as a test that reloads a URL configuration does
    try:
        assert fixed_url("news:list") == reverse("news:list") == "/moved/news/"
        assert slug_url("news:detail", "x") == reverse("news:detail", args=["x"]) == "/moved/news/x/"
    finally:
        urls_switchable.urlpatterns[:] = saved
        clear_url_caches()


def test_fixed_url_tag_writes_the_escaped_url():
    html = Template('{% load reversing %}<a href="{% fixed_url "news:list" %}">').render(Context())
    assert html == '<a href="/news/">'


def test_the_memo_stays_small_whatever_the_script_prefixes(monkeypatch):
    from baltmet import reversing

    monkeypatch.setattr(reversing, "_MAX_ENTRIES", 3)
    try:
        for number in range(10):
            set_script_prefix(f"/p{number}/")
            assert fixed_url("news:list") == f"/p{number}/news/"
            assert 1 <= len(reversing._fixed) <= 3  # kept, within the bound
    finally:
        clear_script_prefix()
