"""baltmet.json_rows: related rows read with their parent as JSON give back what the ORM would
read, type for type, and fields whose values JSON would change are refused."""

from decimal import Decimal

import pytest

from baltmet.json_rows import json_rows
from news.models import Article, Topic
from regions.models import Cluster, Region
from tests.regions_factories import (
    add_figure,
    make_cluster,
    make_institution,
    make_metric,
    make_organisation,
    make_region,
)

pytestmark = pytest.mark.django_db


def _typed(instances, fields):
    return [[(getattr(instance, name), type(getattr(instance, name))) for name in fields] for instance in instances]


def test_the_region_profile_read_through_json_is_what_the_orm_reads():
    region = make_region("riga", agency=make_organisation())
    for position, value in enumerate(["0.00", "100.00", "12345678901234.56", "-0.10"]):
        add_figure(region, make_metric(f"m{position}", position=position), Decimal(value))
    make_institution(region, "university", students=None, staff=2_000_000_000, website="")
    make_cluster(region, "ict", network=make_organisation("network"), description='ü <&> "q" \\ \n')
    make_cluster(region, "biotech")

    through_json = Region.objects.get_profile("riga")
    through_orm = Region.objects._get_profile_prefetched("riga")

    figure_fields = ["id", "metric_id", "value", "qualifier", "year", "source"]
    orm_figures = sorted(through_orm.latest_figures, key=lambda figure: figure.metric.position)
    assert _typed(through_json.latest_figures, figure_fields) == _typed(orm_figures, figure_fields)
    for name in ("profile_institutions", "profile_clusters"):
        read = [field for field in vars(getattr(through_json, name)[0]) if not field.startswith("_")]
        assert read, name
        assert _typed(getattr(through_json, name), read) == _typed(getattr(through_orm, name), read)


@pytest.mark.parametrize(
    ("model", "field"),
    [(Topic, "created"), (Article, "publish_at"), (Article, "event__starts"), (Cluster, "region__updated")],
)
def test_fields_json_would_give_back_as_text_are_refused(model, field):
    with pytest.raises(TypeError, match=field):
        json_rows(model.objects.all(), ["id", field])


def test_text_numbers_and_foreign_keys_through_relations_are_taken():
    json_rows(Cluster.objects.all(), ["id", "name", "position", "network_id", "network__name", "region__agency_id"])
