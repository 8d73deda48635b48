"""The public region pages: the list of regions and a region's profile."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from news.models import Event
from regions.models import Figure, Metric, Region
from tests.news_factories import (
    make_article,
    make_draft_article,
    make_event,
    make_past_event,
    make_scheduled_article,
)
from tests.page_text import assert_headings_in_order, main_of, text_of
from tests.regions_factories import (
    add_figure,
    make_cluster,
    make_institution,
    make_metric,
    make_organisation,
    make_region,
)
from tests.subprocess_env import pages_on_sqlite, with_todays_noon

pytestmark = pytest.mark.django_db


def html_of(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


@pytest.fixture
def headline_metrics():
    return {
        "population": make_metric("population", name="Population", unit="inhabitants", headline=True, position=1),
        "area": make_metric("area", name="Area", unit="km²", headline=True, position=2),
        "rd-institutions": make_metric(
            "rd-institutions", name="R&D institutions", group=Metric.Group.EDUCATION, headline=False
        ),
    }


# The region list


def test_region_list_shows_every_region_with_country_and_headline_figures(client, headline_metrics):
    riga = make_region("riga", country="Latvia", designation="capital of Latvia")
    tallinn = make_region("tallinn", country="Estonia")
    add_figure(riga, headline_metrics["population"], 700000, qualifier="about")
    add_figure(riga, headline_metrics["area"], 304)
    add_figure(riga, headline_metrics["rd-institutions"], 31)
    add_figure(tallinn, headline_metrics["population"], 400000)

    text = text_of(main_of(html_of(client, "/regions/")))

    assert "Riga Latvia · capital of Latvia" in text
    assert "Population about 700 000 inhabitants (2007)" in text
    assert "Area 304 km² (2007)" in text
    assert "Tallinn Estonia" in text and "Population 400 000 inhabitants (2007)" in text
    assert "R&D institutions" not in text, "only headline figures are listed"


def test_region_list_links_each_profile_and_the_comparison(client):
    make_region("riga")
    html = html_of(client, "/regions/")
    assert 'href="/regions/riga/"' in html
    assert 'href="/regions/compare/"' in html
    assert_headings_in_order(html)


def test_region_list_shows_the_latest_year_of_a_headline_figure(client, headline_metrics):
    riga = make_region("riga")
    add_figure(riga, headline_metrics["population"], 700000, year=2007)
    add_figure(riga, headline_metrics["population"], 610000, year=2020)
    text = text_of(html_of(client, "/regions/"))
    assert "610 000 inhabitants (2020)" in text
    assert "700 000" not in text


def test_region_list_reads_each_region_without_its_long_texts(headline_metrics, django_assert_num_queries):
    riga = make_region("riga", body="<p>Clusters first.</p>")
    add_figure(riga, headline_metrics["population"], 700000)
    with django_assert_num_queries(2):
        [region] = Region.objects.for_list()
        assert [figure.metric.code for figure in region.headline_figures] == ["population"]
    assert {"knowledge", "body", "policy", "search_vector"} <= region.get_deferred_fields()
    assert region.body == "<p>Clusters first.</p>", "still there when asked for"


def test_region_list_without_regions_says_so(client):
    assert "No regions yet." in html_of(client, "/regions/")


def test_region_list_queries_do_not_grow_with_the_number_of_regions(client, headline_metrics, django_assert_num_queries):
    def add_region(slug):
        region = make_region(slug)
        add_figure(region, headline_metrics["population"], 100000)
        add_figure(region, headline_metrics["area"], 100)

    add_region("riga")
    with django_assert_num_queries(2) as one_region:
        client.get("/regions/")
    for slug in ("tallinn", "vilnius", "warsaw"):
        add_region(slug)
    with django_assert_num_queries(len(one_region.captured_queries)):
        client.get("/regions/")


def test_home_page_links_the_regions_and_the_comparison(client):
    make_region("riga")
    html = html_of(client, "/")
    assert 'href="/regions/riga/"' in html
    assert 'href="/regions/compare/"' in html


# A region's profile


@pytest.fixture
def riga(headline_metrics):
    agency = make_organisation("riga-agency", name="Riga Agency", description="It runs the cluster networks.")
    region = make_region(
        "riga",
        country="Latvia",
        designation="capital of Latvia",
        lead="The largest city of the Baltic states.",
        knowledge="<p>Strong in materials science.</p>",
        body="<p>Clusters first.</p>",
        policy="<p>A national innovation policy since 2010.</p>",
        agency=agency,
    )
    add_figure(region, headline_metrics["population"], 700000, qualifier="about", source="Statistics Latvia")
    add_figure(region, headline_metrics["rd-institutions"], 31, source="Riga report")
    make_institution(region, "university-of-latvia", name="University of Latvia", students=14000, staff=2500, note="founded 1919")
    make_cluster(region, "riga-wood", name="Wood", niches="furniture, timber houses", network=agency, position=1)
    make_cluster(region, "riga-ict", name="ICT", network=agency, position=2)
    return region


def test_profile_shows_every_part_of_the_region(client, riga):
    html = html_of(client, "/regions/riga/")
    text = text_of(main_of(html))

    assert "<h1>Riga</h1>" in html
    assert "Latvia · capital of Latvia" in text
    assert "The largest city of the Baltic states." in text
    assert "Size Population about 700 000 inhabitants (2007)" in text
    assert "Higher education and R&D R&D institutions 31 (2007)" in text
    assert "Strong in materials science." in text
    assert "University of Latvia, university or college; 14 000 students; 2500 employees; founded 1919" in text
    assert "Wood, with the niches furniture, timber houses" in text
    assert "Riga Agency, the regional development agency. It runs the cluster networks." in text
    assert "Cluster networks run by Riga Agency Wood ICT" in text
    assert "Innovation strategy Clusters first." in text
    assert "Innovation policy A national innovation policy since 2010." in text
    assert "Sources of the figures: Riga report; Statistics Latvia." in text


def test_profile_is_accessible_in_structure(client, riga):
    html = html_of(client, "/regions/riga/")
    assert_headings_in_order(html)
    assert '<span class="figure-value">about 700 000 inhabitants</span>' in html


def test_profile_shows_sections_only_when_they_have_content(client):
    make_region("tallinn")
    text = text_of(main_of(html_of(client, "/regions/tallinn/")))
    for heading in ("Size", "Higher education and R&D", "Priority clusters", "Agency and networks", "Innovation policy"):
        assert heading not in text


def test_profile_shows_the_regions_published_news_and_events(client, riga):
    other = make_region("tallinn")
    make_article("Riga joins the network", regions=[riga])
    make_article("Tallinn news", regions=[other])
    make_draft_article("Riga draft", regions=[riga])
    make_scheduled_article("Riga scheduled", regions=[riga])
    make_event("Riga cluster day", region=riga)
    make_past_event("Riga workshop", region=riga)
    make_event("Riga draft event", region=riga, status=Event.Status.DRAFT)
    make_event("Riga scheduled event", region=riga, publish_at=timezone.now() + timedelta(days=1))

    text = text_of(main_of(html_of(client, "/regions/riga/")))

    assert "News about Riga Riga joins the network" in text
    assert "Upcoming Riga cluster day" in text
    assert "Past Riga workshop" in text
    for absent in ("Tallinn news", "Riga draft", "Riga scheduled"):
        assert absent not in text


def test_profile_lists_the_five_latest_news_items_newest_first(client, riga):
    now = timezone.now()
    for day in range(1, 8):
        make_article(f"Riga item {day}", regions=[riga], publish_at=now - timedelta(days=day))
    text = text_of(main_of(html_of(client, "/regions/riga/")))
    shown = [f"Riga item {day}" for day in range(1, 6)]
    assert all(title in text for title in shown)
    assert [text.index(title) for title in shown] == sorted(text.index(title) for title in shown)
    assert "Riga item 6" not in text and "Riga item 7" not in text


def test_profile_queries_do_not_grow_with_its_content(client, riga, headline_metrics, django_assert_num_queries):
    # The region with its agency, institutions, clusters and figures; its news; its events.
    with django_assert_num_queries(3) as before:
        client.get("/regions/riga/")
    add_figure(riga, headline_metrics["area"], 304)
    make_institution(riga, "riga-technical-university")
    make_cluster(riga, "riga-food", network=riga.agency)
    make_article(regions=[riga])
    make_event(region=riga)
    with django_assert_num_queries(len(before.captured_queries)):
        client.get("/regions/riga/")


def test_get_profile_reads_institutions_and_clusters_with_the_region_in_their_order(riga, django_assert_num_queries):
    other = make_organisation("wood-network", name="Wood Network")
    make_institution(riga, "riga-stradins", name="Stradins University", kind="university")
    make_institution(riga, "latvian-institute", name="Latvian Institute", kind="research", students=None)
    make_cluster(riga, "riga-food", name="Food", position=0, network=other)
    make_cluster(riga, "riga-art", name="Art", position=2)

    # The region, its agency, institutions, clusters and figures in one query.
    with django_assert_num_queries(1):
        region = Region.objects.get_profile(slug="riga")
        institutions = [(i.name, i.get_kind_display(), i.students, i.staff, i.note) for i in region.profile_institutions]
        clusters = [(c.name, c.niches, c.network.name if c.network else None) for c in region.profile_clusters]
        networks = [(org.name, [c.name for c in members]) for org, members in region.cluster_networks(region.profile_clusters)]
        figures = [(f.metric.name, f.value) for f in region.latest_figures]

    assert region.agency.name == "Riga Agency"
    assert institutions == [
        ("Latvian Institute", "R&D institution", None, None, ""),
        ("Stradins University", "university or college", None, None, ""),
        ("University of Latvia", "university or college", 14000, 2500, "founded 1919"),
    ]
    assert clusters == [
        ("Food", "", "Wood Network"),
        ("Wood", "furniture, timber houses", "Riga Agency"),
        ("Art", "", None),
        ("ICT", "", "Riga Agency"),
    ]
    assert networks == [("Riga Agency", ["Wood", "ICT"]), ("Wood Network", ["Food"])], "the agency first"
    assert [name for name, _ in figures] == ["Population", "R&D institutions"]


def test_get_profile_reads_the_latest_figure_of_each_metric_in_figures_order(django_assert_num_queries):
    riga = make_region("riga")
    metrics = [
        make_metric("students", name="Students", group=Metric.Group.EDUCATION, position=1),
        make_metric("clusters", name="Clusters", group=Metric.Group.INNOVATION, position=0),
        make_metric("population", name="Population", unit="inhabitants", position=2),
        make_metric("area", name="Area", unit="km²", position=2),
        make_metric("gdp", name="GDP", position=1),
    ]
    for metric in metrics:
        add_figure(riga, metric, 10, year=2005)
        add_figure(riga, metric, "1234567890123.45", year=2020, qualifier="about", source=f"{metric.name} 2020")
    add_figure(make_region("tallinn"), metrics[0], 99, year=2024)

    with django_assert_num_queries(1):
        region = Region.objects.get_profile(slug="riga")
        figures = [(f.metric.name, f.metric.unit, f.metric.group, f.value, f.qualifier, f.year, f.source) for f in region.latest_figures]

    assert figures == [
        (f.metric.name, f.metric.unit, f.metric.group, f.value, f.qualifier, f.year, f.source)
        for f in Figure.objects.latest_per_metric().filter(region=riga).select_related("metric")
    ], "as Figure orders them, with the same values"
    assert [name for name, *_ in figures] == ["GDP", "Area", "Population", "Students", "Clusters"]
    assert {(type(value), value) for *_, value, _, _, _ in figures} == {(Decimal, Decimal("1234567890123.45"))}


def test_get_profile_of_a_region_without_institutions_or_clusters():
    make_region("tallinn")
    region = Region.objects.get_profile(slug="tallinn")
    assert region.profile_institutions == [] and region.profile_clusters == [] and region.latest_figures == []
    with pytest.raises(Region.DoesNotExist):
        Region.objects.get_profile(slug="atlantis")


# Run in both databases: Oslo news, and upcoming and past events, for the profile to list
# (`noon` comes from with_todays_noon).
OSLO_NEWS_AND_EVENTS = """
from datetime import timedelta
from news.models import Article, Event
from regions.models import Region
oslo = Region.objects.get(slug="oslo")
for days in (-40, -20, -1, 10, 30):
    Event.objects.create(
        title=f"Oslo event {days}", slug=f"oslo-event-{days + 100}", starts=noon + timedelta(days=days),
        ends=noon + timedelta(days=days, hours=2), all_day=days % 2 == 0, region=oslo,
        status="published", publish_at=noon - timedelta(days=50),
    )
for days in (3, 2, 1):
    article = Article.objects.create(
        title=f"Oslo news {days}", slug=f"oslo-news-{days}", lead="What happened.",
        status="published", publish_at=noon - timedelta(days=days),
    )
    article.regions.add(oslo)
"""


def test_on_sqlite_the_profile_shows_the_same_as_on_postgresql(client, tmp_path):
    """SQLite reads the institutions and clusters with a query each, not as JSON, and the
    upcoming and past events with a query each, not one UNION ALL: same page."""
    setup = with_todays_noon(OSLO_NEWS_AND_EVENTS)
    on_sqlite = pages_on_sqlite(tmp_path, ["regions_seed"], ["/regions/oslo/"], setup=setup)
    status, html = on_sqlite["/regions/oslo/"]
    assert status == 200

    call_command("loaddata", "regions_seed", verbosity=0)
    exec(setup)
    on_postgresql = main_of(html_of(client, "/regions/oslo/"))
    assert "University of Oslo" in on_postgresql and "Cluster networks run by" in on_postgresql
    assert "Oslo news 1" in on_postgresql and "Oslo event 10" in on_postgresql and "Oslo event -40" in on_postgresql
    assert main_of(html) == on_postgresql


def test_unknown_region_is_404(client):
    assert client.get("/regions/atlantis/").status_code == 404


def test_compare_address_is_the_compare_page_not_a_region(client):
    response = client.get("/regions/compare/")
    assert response.status_code == 200
    assert response.templates[0].name == "regions/region_compare.html"
