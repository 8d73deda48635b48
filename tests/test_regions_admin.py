"""The editors' admin for regions: one page per region, with its figures, institutions and clusters."""

from decimal import Decimal

import pytest

from regions.models import Cluster, Institution, Metric, Organisation, Region
from tests.admin_forms import form_data
from tests.regions_factories import (
    add_figure,
    make_cluster,
    make_institution,
    make_metric,
    make_organisation,
    make_region,
)

pytestmark = pytest.mark.django_db

ADMIN_PAGES = [
    "/admin/regions/region/",
    "/admin/regions/region/add/",
    "/admin/regions/metric/",
    "/admin/regions/metric/add/",
    "/admin/regions/organisation/",
    "/admin/regions/organisation/add/",
]


@pytest.fixture
def riga():
    region = make_region("riga", country="Latvia", agency=make_organisation("riga-agency", name="Riga Agency"))
    add_figure(region, make_metric("population", name="Population", unit="inhabitants"), 700000)
    make_institution(region, "university-of-latvia", name="University of Latvia", students=14000)
    make_cluster(region, "riga-wood", name="Wood", niches="furniture")
    return region


def change_url(region):
    return f"/admin/regions/region/{region.pk}/change/"


def change_form(client, region):
    response = client.get(change_url(region))
    assert response.status_code == 200
    return form_data(response.content.decode(), "region_form")


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_open_for_staff(staff_client, riga, url):
    assert staff_client.get(url).status_code == 200


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_send_anonymous_visitors_to_the_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_region_list_shows_name_country_agency_and_update_time(staff_client, riga):
    html = staff_client.get("/admin/regions/region/").content.decode()
    for column in ("column-name", "column-country", "column-agency", "column-updated"):
        assert column in html
    assert "Riga Agency" in html


def test_region_search_finds_by_country(staff_client, riga):
    make_region("oslo", country="Norway")
    html = staff_client.get("/admin/regions/region/?q=latvia").content.decode()
    assert "1 result" in html and ">Riga<" in html and ">Oslo<" not in html


def test_region_page_has_figure_institution_and_cluster_inlines(staff_client, riga):
    html = staff_client.get(change_url(riga)).content.decode()
    assert 'id="figures-group"' in html and 'id="institutions-group"' in html and 'id="clusters-group"' in html
    data = form_data(html, "region_form")
    assert data["figures-0-value"] == "700000.00"
    assert data["institutions-0-name"] == "University of Latvia"
    assert data["clusters-0-niches"] == "furniture"
    assert "View on site" in html and 'href="/admin/r/' in html


def test_region_page_uses_the_rich_text_editor_and_prepopulates_slugs(staff_client):
    html = staff_client.get("/admin/regions/region/add/").content.decode()
    for field in ("knowledge", "body", "policy"):
        assert f'data-field-id="id_{field}"' in html
    assert 'data-type="ckeditortype"' in html
    prepopulated = html.split('data-prepopulated-fields="', 1)[1].split('"', 1)[0].replace("&quot;", '"')
    for slug, source in (
        ("#id_slug", "#id_name"),
        ("#id_institutions-__prefix__-slug", "#id_institutions-__prefix__-name"),
        ("#id_clusters-__prefix__-slug", "#id_clusters-__prefix__-name"),
    ):
        assert f'"id": "{slug}", "name": "slug", "dependency_ids": ["{source}"]' in prepopulated


def test_metric_choices_are_grouped_and_ordered_by_group_then_position(staff_client, riga):
    make_metric("students", name="Students", group=Metric.Group.EDUCATION, position=1)
    make_metric("projects", name="Projects", group=Metric.Group.INNOVATION, position=1)
    make_metric("area", name="Area", unit="km²", position=2)
    html = staff_client.get(change_url(riga)).content.decode()
    select = html.split('name="figures-0-metric"', 1)[1].split("</select>", 1)[0]
    order = [select.index(text) for text in (
        '<optgroup label="Size">', "Population (inhabitants)", "Area (km²)",
        '<optgroup label="Education and R&amp;D">', "Students",
        '<optgroup label="Innovation">', "Projects",
    )]
    assert order == sorted(order)


def test_saving_the_region_page_saves_every_inline(staff_client, riga):
    data = change_form(staff_client, riga)
    area = make_metric("area", name="Area", unit="km²")
    data.update(
        {
            "lead": "Updated lead.",
            "figures-0-value": "710000",
            "figures-1-metric": str(area.pk),
            "figures-1-value": "304",
            "figures-1-year": "2009",
            "figures-1-source": "Statistics Latvia",
            "institutions-0-staff": "2500",
            "clusters-0-niches": "furniture, timber houses",
            "_save": "Save",
        }
    )
    response = staff_client.post(change_url(riga), data)
    assert response.status_code == 302, response.content.decode()[:2000]

    riga.refresh_from_db()
    assert riga.lead == "Updated lead."
    assert {(f.metric.code, f.value, f.year) for f in riga.figures.all()} == {
        ("population", Decimal("710000.00"), 2007),
        ("area", Decimal("304.00"), 2009),
    }
    assert Institution.objects.get(slug="university-of-latvia").staff == 2500
    assert Cluster.objects.get(slug="riga-wood").niches == "furniture, timber houses"


def test_a_new_region_is_added_with_its_inlines_in_one_go(staff_client):
    population = make_metric("population", name="Population", unit="inhabitants")
    data = form_data(staff_client.get("/admin/regions/region/add/").content.decode(), "region_form")
    data.update(
        {
            "name": "Tallinn",
            "slug": "tallinn",
            "country": "Estonia",
            "body": '<p>Strategy <script>alert(1)</script><a href="javascript:alert(1)">x</a></p>',
            "figures-0-metric": str(population.pk),
            "figures-0-value": "400000",
            "figures-0-qualifier": "about",
            "figures-0-year": "2008",
            "institutions-TOTAL_FORMS": "1",
            "institutions-0-name": "Tallinn University",
            "institutions-0-slug": "tallinn-university",
            "institutions-0-kind": "university",
            "clusters-TOTAL_FORMS": "1",
            "clusters-0-name": "ICT",
            "clusters-0-slug": "tallinn-ict",
            "clusters-0-position": "0",
            "_save": "Save",
        }
    )
    response = staff_client.post("/admin/regions/region/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    tallinn = Region.objects.get(slug="tallinn")
    assert tallinn.figures.get().qualifier == "about"
    assert tallinn.institutions.get().name == "Tallinn University"
    assert tallinn.clusters.get().name == "ICT"
    assert "<script" not in tallinn.body and "javascript:" not in tallinn.body, "rich text is sanitised on save"


def test_metric_positions_are_edited_in_the_list(staff_client):
    area = make_metric("area", name="Area", position=5)
    html = staff_client.get("/admin/regions/metric/").content.decode()
    data = form_data(html, "changelist-form")
    assert data["form-0-position"] == "5"
    data.update({"form-0-position": "1", "_save": "Save"})
    response = staff_client.post("/admin/regions/metric/", data)
    assert response.status_code == 302
    area.refresh_from_db()
    assert area.position == 1


def test_metric_list_is_ordered_by_group_then_position(staff_client):
    make_metric("projects", name="Projects", group=Metric.Group.INNOVATION)
    make_metric("students", name="Students", group=Metric.Group.EDUCATION)
    make_metric("area", name="Area", position=2)
    make_metric("population", name="Population", position=1)
    html = staff_client.get("/admin/regions/metric/").content.decode()
    order = [html.index(f">{code}</a>") for code in ("population", "area", "students", "projects")]
    assert order == sorted(order)


def test_an_organisation_is_added(staff_client):
    response = staff_client.post(
        "/admin/regions/organisation/add/",
        {"name": "Oslo Teknopol", "slug": "oslo-teknopol", "kind": "agency", "description": "", "website": ""},
    )
    assert response.status_code == 302
    assert Organisation.objects.get(slug="oslo-teknopol").get_kind_display() == "regional development agency"
