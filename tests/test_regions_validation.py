"""Values that make no sense are refused, with a message, wherever they come from."""

import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction

from regions.models import Figure, Metric, Region
from tests.regions_factories import add_figure, make_metric, make_region

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
    region = Region(name="Riga", slug="riga", country="Latvia", image="regions/riga.png")
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
