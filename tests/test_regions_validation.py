"""Values that make no sense are refused, with a message, wherever they come from."""

import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import IntegrityError, transaction

from regions.models import Figure, Metric, Region
from tests.admin_forms import form_data
from tests.page_text import text_of
from tests.regions_factories import add_figure, make_metric, make_region
from tests.upload_files import image_bytes

pytestmark = pytest.mark.django_db


def errors_of(instance):
    with pytest.raises(ValidationError) as caught:
        instance.full_clean()
    return caught.value.message_dict


def test_a_negative_population_is_refused():
    figure = Figure(region=make_region(), metric=make_metric("population", name="Population"), value=-5, year=2007)
    assert errors_of(figure) == {"value": ["Population cannot be negative."]}


def test_a_metric_that_allows_negative_values_accepts_them():
    metric = make_metric("population-growth", allow_negative=True)
    Figure(region=make_region(), metric=metric, value=Decimal("-0.4"), year=2007).full_clean()


def test_zero_is_not_negative():
    Figure(region=make_region(), metric=make_metric(), value=0, year=2007).full_clean()


def test_a_second_figure_for_the_same_metric_and_year_is_refused():
    region, metric = make_region(), make_metric()
    add_figure(region, metric, 500000, year=2007)
    duplicate = Figure(region=region, metric=metric, value=510000, year=2007)
    assert errors_of(duplicate) == {"__all__": ["This region already has a figure for this metric and year."]}


def test_the_database_refuses_a_duplicate_figure_even_without_validation():
    region, metric = make_region(), make_metric()
    add_figure(region, metric, 500000, year=2007)
    with pytest.raises(IntegrityError), transaction.atomic():
        Figure.objects.create(region=region, metric=metric, value=1, year=2007)


def test_the_same_metric_in_another_year_or_region_is_fine():
    region, metric = make_region(), make_metric()
    add_figure(region, metric, 500000, year=2007)
    Figure(region=region, metric=metric, value=510000, year=2008).full_clean()
    Figure(region=make_region("oslo"), metric=metric, value=510000, year=2007).full_clean()


@pytest.mark.parametrize("year", [1799, 2101])
def test_a_year_outside_1800_to_2100_is_a_typing_error(year):
    figure = Figure(region=make_region(), metric=make_metric(), value=1, year=year)
    assert set(errors_of(figure)) == {"year"}


def test_compare_cannot_be_a_region_slug_because_it_is_the_compare_page():
    region = Region(name="Compare", slug="compare", country="Nowhere")
    assert set(errors_of(region)) == {"slug"}


def test_a_region_image_needs_a_text_alternative():
    stored = default_storage.save("regions/riga.png", ContentFile(image_bytes("PNG")))
    region = Region(name="Riga", slug="riga", country="Latvia", image=stored)
    assert set(errors_of(region)) == {"image_alt"}


def test_a_fixture_with_a_negative_population_does_not_load(tmp_path):
    fixture = tmp_path / "bad_region.json"
    fixture.write_text(
        json.dumps(
            [
                {"model": "regions.metric", "fields": {"code": "population", "name": "Population"}},
                {"model": "regions.region", "fields": {"name": "Riga", "slug": "riga", "country": "Latvia"}},
                {
                    "model": "regions.figure",
                    "fields": {"region": ["riga"], "metric": ["population"], "value": "-1", "year": 2007},
                },
            ]
        )
    )
    with pytest.raises(Exception, match="cannot be negative"):
        call_command("loaddata", str(fixture), verbosity=0)
    assert not Metric.objects.exists() and not Region.objects.exists(), "nothing of a bad fixture is kept"


# Through the admin: a form error on the page, never a server error


@pytest.fixture
def riga_with_population():
    region = make_region("riga")
    add_figure(region, make_metric("population", name="Population"), 700000, year=2007)
    return region


def post_region_change(client, region, **changes):
    url = f"/admin/regions/region/{region.pk}/change/"
    data = form_data(client.get(url).content.decode(), "region_form")
    data.update(changes, _save="Save")
    return client.post(url, data)


def errors_on_page(response):
    assert response.status_code == 200, "the form comes back with errors instead of saving"
    html = response.content.decode()
    assert "Please correct the error" in html or "Please correct the errors" in html
    return text_of(html)


def test_admin_refuses_a_negative_population_with_a_message(staff_client, riga_with_population):
    response = post_region_change(staff_client, riga_with_population, **{"figures-0-value": "-700000"})
    assert "Population cannot be negative." in errors_on_page(response)
    assert riga_with_population.figures.get().value == 700000


def test_admin_refuses_the_same_metric_and_year_twice_in_the_figures(staff_client, riga_with_population):
    population = Metric.objects.get(code="population")
    new_row = {"figures-1-metric": str(population.pk), "figures-1-value": "710000", "figures-1-year": "2007"}
    response = post_region_change(staff_client, riga_with_population, **new_row)
    assert "Please correct the duplicate data for metric and year, which must be unique." in errors_on_page(response)
    assert riga_with_population.figures.count() == 1


def test_admin_refuses_two_new_figures_for_the_same_metric_and_year(staff_client):
    population = make_metric("population", name="Population")
    data = form_data(staff_client.get("/admin/regions/region/add/").content.decode(), "region_form")
    data.update(
        {
            "name": "Tallinn",
            "slug": "tallinn",
            "country": "Estonia",
            "figures-TOTAL_FORMS": "2",
            "figures-0-metric": str(population.pk),
            "figures-0-value": "400000",
            "figures-0-year": "2008",
            "figures-1-metric": str(population.pk),
            "figures-1-value": "410000",
            "figures-1-year": "2008",
            "_save": "Save",
        }
    )
    response = staff_client.post("/admin/regions/region/add/", data)
    assert "Please correct the duplicate data for metric and year, which must be unique." in errors_on_page(response)
    assert not Region.objects.filter(slug="tallinn").exists()


def test_admin_accepts_the_same_metric_for_another_year(staff_client, riga_with_population):
    population = Metric.objects.get(code="population")
    new_row = {"figures-1-metric": str(population.pk), "figures-1-value": "610000", "figures-1-year": "2020"}
    response = post_region_change(staff_client, riga_with_population, **new_row)
    assert response.status_code == 302
    assert sorted(riga_with_population.figures.values_list("year", flat=True)) == [2007, 2020]


def test_admin_refuses_an_impossible_year_and_a_reserved_slug(staff_client, riga_with_population):
    response = post_region_change(staff_client, riga_with_population, slug="compare", **{"figures-0-year": "20007"})
    text = errors_on_page(response)
    assert '"compare" is the address of another page' in text
    assert "Ensure this value is less than or equal to 2100." in text
