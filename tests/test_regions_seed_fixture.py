"""The seed fixture holds every fact of the old site's Oslo profile as data, and /regions/oslo/ shows it."""

import pytest
from django.core.management import call_command

from regions.models import Cluster, Figure, Institution, Metric, Organisation, Region
from tests.page_text import main_of, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    call_command("loaddata", "regions_seed", verbosity=0)


@pytest.fixture
def oslo_text(seeded, client):
    response = client.get("/regions/oslo/")
    assert response.status_code == 200
    return text_of(main_of(response.content.decode()))


def figure(code):
    return Figure.objects.get(region__slug="oslo", metric__code=code)


# The facts are data, not prose


SEED_FIGURES = {
    "population": (500000, "over"),
    "area": (450, ""),
    "greater-region-population": (1500000, "about"),
    "universities-and-colleges": (22, ""),
    "rd-institutions": (75, ""),
    "centres-of-excellence": (6, ""),
    "science-parks": (3, ""),
    "students": (60000, "more than"),
    "priority-clusters": (5, ""),
    "cluster-networks": (5, ""),
    "network-projects": (22, ""),
}


def test_every_number_of_the_seed_page_is_a_figure_of_2007_with_its_source(seeded):
    figures = Figure.objects.filter(region__slug="oslo").select_related("metric")
    assert {f.metric.code: (f.value, f.qualifier) for f in figures} == SEED_FIGURES
    assert {(f.year, f.source) for f in figures} == {(2007, "BaltMet Inno region profile, 2007")}


def test_units_are_data_too(seeded):
    assert Metric.objects.get(code="population").unit == "inhabitants"
    assert Metric.objects.get(code="area").unit == "km²"


def test_the_university_the_agency_and_the_clusters_are_data(seeded):
    university = Institution.objects.get(slug="university-of-oslo")
    assert (university.region.slug, university.students, university.staff) == ("oslo", 30000, 4600)
    assert "four Nobel Prizes" in university.note
    agency = Organisation.objects.get(slug="oslo-teknopol")
    assert agency.kind == Organisation.Kind.AGENCY
    assert Region.objects.get(slug="oslo").agency == agency
    clusters = Cluster.objects.filter(region__slug="oslo")
    assert [cluster.name for cluster in clusters] == [
        "ICT",
        "Energy",
        "Maritime and shipping",
        "Life sciences",
        "Design, culture and media",
    ]
    assert {cluster.network for cluster in clusters} == {agency}
    assert clusters.get(name="Energy").niches == "oil, gas, and environmental technology"


def test_loading_the_seed_twice_updates_in_place(seeded):
    counts = [model.objects.count() for model in (Region, Metric, Figure, Institution, Cluster, Organisation)]
    call_command("loaddata", "regions_seed", verbosity=0)
    assert [model.objects.count() for model in (Region, Metric, Figure, Institution, Cluster, Organisation)] == counts
    assert counts == [1, 11, 11, 1, 5, 1]


def test_reloading_the_seed_restores_an_edited_figure(seeded):
    Figure.objects.filter(region__slug="oslo", metric__code="area").update(value=999)
    call_command("loaddata", "regions_seed", verbosity=0)
    assert figure("area").value == 450


# Every fact is visible on /regions/oslo/


def test_oslo_page_shows_its_designation_and_size(oslo_text):
    assert "Norway · capital of the Kingdom of Norway" in oslo_text
    assert "Population over 500 000 inhabitants (2007)" in oslo_text
    assert "Area 450 km² (2007)" in oslo_text
    assert "Population of the greater region about 1.5 million inhabitants (2007)" in oslo_text


def test_oslo_page_shows_its_higher_education_and_rd_base(oslo_text):
    assert "Universities and colleges, private and public 22 (2007)" in oslo_text
    assert "R&D institutions, private and public 75 (2007)" in oslo_text
    assert "Centres of excellence for R&D 6 (2007)" in oslo_text
    assert "Science parks 3 (2007)" in oslo_text
    assert "Students living in the region more than 60 000 (2007)" in oslo_text
    assert (
        "The knowledge environment in the Oslo region is the force behind internationally competitive R&D "
        "in a number of specialist areas." in oslo_text
    )


def test_oslo_page_shows_the_university_of_oslo(oslo_text):
    assert (
        "University of Oslo, university or college; 30 000 students; 4600 employees; four Nobel Prizes; "
        "the largest knowledge institution in the region" in oslo_text
    )


def test_oslo_page_shows_the_five_clusters_with_their_niches(oslo_text):
    clusters = oslo_text.split("Priority clusters", 1)[1].split("Agency and networks", 1)[0]
    assert clusters.split() == (
        "ICT Energy, with the niches oil, gas, and environmental technology Maritime and shipping "
        "Life sciences Design, culture and media"
    ).split()


def test_oslo_page_shows_the_agency_its_five_networks_and_22_projects(oslo_text):
    assert "Oslo Teknopol, the regional development agency." in oslo_text
    assert "Priority clusters 5 (2007)" in oslo_text
    assert "Cluster networks 5 (2007)" in oslo_text
    assert "Ongoing projects in the cluster networks 22 (2007)" in oslo_text
    assert (
        "Cluster networks run by Oslo Teknopol ICT Energy Maritime and shipping Life sciences "
        "Design, culture and media" in oslo_text
    )


def test_oslo_page_shows_the_strategy(oslo_text):
    strategy = oslo_text.split("Innovation strategy", 1)[1].split("Priority clusters", 1)[0]
    for fact in (
        "work with existing and potential clusters",
        "organised in five networks where the most important stakeholders meet at least four times a year",
        "The Oslo region has an extensive knowledge base in these clusters.",
        "cooperation between important companies, R&D institutions and the public sector is the major pillar",
        "five networks administrated by Oslo Teknopol, the regional development agency",
        "The main activity in the networks is to promote and realise innovative projects.",
        "22 ongoing projects in the networks",
        "from joint marketing activities to innovation projects in companies",
    ):
        assert fact in strategy


def test_oslo_page_shows_the_innovation_policy(oslo_text):
    policy = oslo_text.split("Innovation policy", 1)[1]
    for fact in (
        "Restructuring, innovation and entrepreneurship are the key objectives",
        "In 2003 the Norwegian government introduced a new comprehensive innovation policy",
        "established a Government Innovation Board to promote entrepreneurship, business start-ups and "
        "spin-off firms and to develop regional networks",
        "the innovation support system is comprehensive",
        "has been successful but is still ongoing",
    ):
        assert fact in policy


def test_oslo_page_names_the_source_of_its_figures(oslo_text):
    assert "Sources of the figures: BaltMet Inno region profile, 2007." in oslo_text


def test_oslo_appears_in_the_list_and_the_comparison(seeded, client):
    listing = text_of(client.get("/regions/").content.decode())
    assert "Oslo Norway · capital of the Kingdom of Norway" in listing
    assert "Population over 500 000 inhabitants (2007)" in listing
    comparison = text_of(client.get("/regions/compare/?region=oslo&metric=area").content.decode())
    assert "Area (km²) 450 km² (2007)" in comparison
