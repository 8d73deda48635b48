"""Small builders for regions test data; each test states only what it is about."""

from decimal import Decimal

from regions.models import Cluster, Figure, Institution, Metric, Organisation, Region


def make_region(slug="riga", name=None, country="Latvia", **fields):
    return Region.objects.create(slug=slug, name=name or slug.replace("-", " ").title(), country=country, **fields)


def make_metric(code="population", name=None, unit="", group=Metric.Group.SIZE, position=0, **fields):
    return Metric.objects.create(
        code=code, name=name or code.replace("-", " ").capitalize(), unit=unit, group=group, position=position, **fields
    )


def add_figure(region, metric, value, year=2007, qualifier="", source=""):
    return Figure.objects.create(
        region=region, metric=metric, value=Decimal(str(value)), year=year, qualifier=qualifier, source=source
    )


def make_organisation(slug="agency", name=None, kind=Organisation.Kind.AGENCY, **fields):
    return Organisation.objects.create(slug=slug, name=name or slug.replace("-", " ").title(), kind=kind, **fields)


def make_institution(region, slug, name=None, **fields):
    return Institution.objects.create(region=region, slug=slug, name=name or slug.replace("-", " ").title(), **fields)


def make_cluster(region, slug, name=None, **fields):
    return Cluster.objects.create(region=region, slug=slug, name=name or slug.replace("-", " ").title(), **fields)
