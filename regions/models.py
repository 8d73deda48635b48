"""Member regions of the Baltic Metropoles network, and their key figures kept as data."""

import functools
from itertools import groupby

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connections, models
from django.db.models import Case, Exists, OuterRef, Prefetch, When

from baltmet.content_version import ContentQuerySet
from baltmet.images import validate_image_file
from baltmet.json_rows import json_rows
from baltmet.prepared import attnames, from_rows, prepared, related_from_row
from baltmet.publishing import SlugNaturalKeyManagerMixin
from baltmet.reversing import slug_url
from baltmet.sanitize import SanitizedRichTextField
from baltmet.search_index import SavedWithSearchIndex, SearchVectorIndex, search_vector_field
from baltmet.uploads import UploadTo


# Addresses under /regions/ that are pages of their own, not regions.
RESERVED_REGION_SLUGS = {"compare"}

# Years a key figure may be given for: outside this range a year is a typing error.
EARLIEST_YEAR = 1800
LATEST_YEAR = 2100


class MetricGroup(models.TextChoices):
    """How metrics are grouped on the pages, in this order (not alphabetical)."""

    SIZE = "size", "Size"
    EDUCATION = "education", "Education and R&D"
    INNOVATION = "innovation", "Innovation"


# Each group's place in that order.
METRIC_GROUP_RANKS = {group.value: rank for rank, group in enumerate(MetricGroup)}


def metric_group_rank(group_field="group"):
    """An expression ordering rows by `group_field` in MetricGroup's declared order."""
    return Case(
        *(When(**{group_field: group}, then=rank) for group, rank in METRIC_GROUP_RANKS.items()),
        default=len(METRIC_GROUP_RANKS),
    )


class SlugManager(SlugNaturalKeyManagerMixin, models.Manager.from_queryset(ContentQuerySet)):
    pass


class MetricManager(models.Manager.from_queryset(ContentQuerySet)):
    def get_by_natural_key(self, code):
        return self.get(code=code)


class Organisation(SavedWithSearchIndex, models.Model):
    """A body such as a regional development agency (Oslo Teknopol)."""

    class Kind(models.TextChoices):
        AGENCY = "agency", "regional development agency"
        AUTHORITY = "authority", "public authority"
        COMPANY = "company", "company"
        NETWORK = "network", "network or association"
        OTHER = "other", "other"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.AGENCY)
    description = models.TextField(blank=True)
    website = models.URLField(blank=True)

    objects = SlugManager()

    class Meta:
        # A reverse relation's add() updates rows through the base manager: a content
        # change too (ContentQuerySet.update), as through any other.
        base_manager_name = "objects"
        ordering = ["name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)


class RegionQuerySet(ContentQuerySet):
    def with_headline_figures(self):
        """Each region's latest headline figures as `region.headline_figures`, in one query."""
        figures = Figure.objects.latest_per_metric().filter(metric__headline=True).select_related("metric")
        return self.prefetch_related(Prefetch("figures", queryset=figures, to_attr="headline_figures"))

    def for_list(self):
        """What the region list shows: each region with its latest headline figures, without the
        long texts only its profile shows (nor search_vector, read only by search)."""
        return self.defer("knowledge", "body", "policy", "search_vector").with_headline_figures()


# What a region's profile shows of its institutions, clusters and figures (with their
# metrics), read as JSON on PostgreSQL.
PROFILE_INSTITUTION_FIELDS = ["id", "name", "kind", "students", "staff", "note", "website"]
PROFILE_CLUSTER_FIELDS = ["id", "name", "niches", "description", "position", "network_id"]
PROFILE_FIGURE_FIELDS = ["id", "metric_id", "value", "qualifier", "year", "source"]
PROFILE_METRIC_FIELDS = ["metric__id", "metric__name", "metric__unit", "metric__group", "metric__position"]
PROFILE_METRIC_ATTNAMES = [name.removeprefix("metric__") for name in PROFILE_METRIC_FIELDS]
PROFILE_AGENCY_FIELDS = [
    "agency__id", "agency__name", "agency__slug", "agency__kind", "agency__description", "agency__website"
]
PROFILE_AGENCY_ATTNAMES = [name.removeprefix("agency__") for name in PROFILE_AGENCY_FIELDS]


def _group_rank(figure):
    """Where a figure's metric group comes in MetricGroup's order (as metric_group_rank())."""
    return METRIC_GROUP_RANKS.get(figure.metric.group, len(METRIC_GROUP_RANKS))


def _profile_rows():
    """A region's institutions, clusters and latest figures, as annotations of arrays of JSON
    rows (PostgreSQL only): `institution_rows`, `cluster_rows`, `figure_rows`."""
    # The rows of one region: ordered as their models are, but for the region itself (the
    # same for every row), which would only cost a join.
    return {
        "institution_rows": json_rows(
            Institution.objects.filter(region=OuterRef("pk")).order_by("kind", "name"), PROFILE_INSTITUTION_FIELDS
        ),
        "cluster_rows": json_rows(
            Cluster.objects.filter(region=OuterRef("pk")).order_by("position", "name"),
            PROFILE_CLUSTER_FIELDS + ["network__name"],
        ),
        # Figure's order but for its metric's group, which get_profile() sorts by (a CASE in SQL
        # costs more to build than sorting a dozen rows).
        "figure_rows": json_rows(
            Figure.objects.latest_per_metric()
            .filter(region=OuterRef("pk"))
            .order_by("metric__position", "metric__name", "-year"),
            PROFILE_FIGURE_FIELDS + PROFILE_METRIC_FIELDS,
        ),
    }


@functools.cache
def _profile_region_fields():
    # Every field but search_vector, kept for site search only and as long as the region's texts.
    return attnames(Region, but=["search_vector"])


@prepared
def _profile_query(slug: str):
    rows = _profile_rows()
    return (
        Region.objects.filter(slug=slug)
        .annotate(**rows)
        .values_list(*_profile_region_fields(), *PROFILE_AGENCY_FIELDS, *rows)
    )


# What a list of links to the regions shows of each.
LINK_FIELDS = ["id", "name", "slug", "country"]


@prepared
def _for_links_query():
    return Region.objects.values_list(*LINK_FIELDS)


class RegionManager(SlugNaturalKeyManagerMixin, models.Manager.from_queryset(RegionQuerySet)):
    def for_links(self):
        """Every region, in name order, with its name, slug and country loaded (the rest
        deferred): for lists of links. One query compiled once per process."""
        return from_rows(self.model, LINK_FIELDS, _for_links_query.rows(using=self.db), self.db)

    def get_profile(self, slug):
        """The region with `slug` (Region.DoesNotExist if none), with its `agency` and:

        `latest_figures`, the latest figure of each metric, in Figure's order, each with its
        `metric` (the fields the pages show);
        `profile_institutions` and `profile_clusters`, in their models' order, each cluster
        with its `network` (its name only).

        On PostgreSQL one query, compiled once per process (baltmet.prepared, as building it
        cost three times running it): the region with its agency, and its institutions,
        clusters and latest figures as arrays of JSON rows. Elsewhere (SQLite) the
        institutions, clusters and figures are a query each.
        """
        db = self.db
        if connections[db].vendor != "postgresql":
            return self._get_profile_prefetched(slug)
        row = _profile_query.first(using=db, slug=slug)
        if row is None:
            raise self.model.DoesNotExist(f"No region has the slug {slug!r}.")
        region_fields = _profile_region_fields()
        [region] = from_rows(self.model, region_fields, [row], db)
        agency_start = len(region_fields)
        region.agency = related_from_row(Organisation, PROFILE_AGENCY_ATTNAMES, row, db, start=agency_start)
        institution_rows, cluster_rows, figure_rows = row[agency_start + len(PROFILE_AGENCY_FIELDS) :]
        region.profile_institutions = from_rows(Institution, PROFILE_INSTITUTION_FIELDS, institution_rows, db)
        region.profile_clusters = from_rows(Cluster, PROFILE_CLUSTER_FIELDS, cluster_rows, db)
        network_name = len(PROFILE_CLUSTER_FIELDS)
        for cluster, cluster_row in zip(region.profile_clusters, cluster_rows):
            if cluster.network_id is not None:
                network = [cluster.network_id, cluster_row[network_name]]
                cluster.network = Organisation.from_db(db, ["id", "name"], network)
        figures = from_rows(Figure, PROFILE_FIGURE_FIELDS, figure_rows, db)
        metrics = from_rows(Metric, PROFILE_METRIC_ATTNAMES, figure_rows, db, start=len(PROFILE_FIGURE_FIELDS))
        for figure, metric in zip(figures, metrics):
            figure.metric = metric
        # Stable: within a group, the figures keep the order they were read in.
        region.latest_figures = sorted(figures, key=_group_rank)
        return region

    def _get_profile_prefetched(self, slug):
        return (
            self.select_related("agency")
            .defer("search_vector")
            .prefetch_related(
                Prefetch("institutions", to_attr="profile_institutions"),
                Prefetch("clusters", queryset=Cluster.objects.select_related("network"), to_attr="profile_clusters"),
                Prefetch(
                    "figures",
                    queryset=Figure.objects.latest_per_metric().select_related("metric"),
                    to_attr="latest_figures",
                ),
            )
            .get(slug=slug)
        )


class Region(SavedWithSearchIndex, models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    country = models.CharField(max_length=100)
    designation = models.CharField(
        max_length=200, blank=True, help_text='e.g. "capital of the Kingdom of Norway"'
    )
    lead = models.TextField(blank=True, help_text="A plain-text summary shown in lists.")
    knowledge = SanitizedRichTextField(
        "education and R&D",
        blank=True,
        help_text="What the higher-education and R&D environment is strong in; the numbers go in the figures.",
    )
    body = SanitizedRichTextField(
        "strategy", blank=True, help_text="The region's innovation strategy and how its clusters work."
    )
    policy = SanitizedRichTextField("innovation policy", blank=True)
    image = models.ImageField(upload_to=UploadTo("regions"), blank=True, validators=[validate_image_file])
    image_alt = models.CharField("image alt text", max_length=250, blank=True)
    agency = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="regions",
        help_text="The regional development agency that runs the cluster networks.",
    )
    website = models.URLField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    # Kept current by baltmet.search_index on every save; read only by site search.
    search_vector = search_vector_field()

    objects = RegionManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["name"]
        indexes = [SearchVectorIndex(fields=["search_vector"], name="region_search_vector_idx")]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)

    def get_absolute_url(self):
        return slug_url("regions:detail", self.slug)

    def clean(self):
        errors = {}
        if self.image and not self.image_alt.strip():
            errors["image_alt"] = "An image needs a text alternative."
        if self.slug in RESERVED_REGION_SLUGS:
            errors["slug"] = f'"{self.slug}" is the address of another page; choose another slug.'
        if errors:
            raise ValidationError(errors)

    def cluster_networks(self, clusters):
        """[(organisation, [clusters])]: who runs which of `clusters`' networks, agency first."""
        networks = {}
        for cluster in clusters:
            if cluster.network is not None:
                networks.setdefault(cluster.network, []).append(cluster)
        return sorted(networks.items(), key=lambda item: (item[0].pk != self.agency_id, item[0].name))


class Metric(models.Model):
    """Something regions are compared on: population, area, universities and colleges, ..."""

    Group = MetricGroup

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100)
    unit = models.CharField(max_length=30, blank=True, help_text='Shown after the value, e.g. "km²".')
    group = models.CharField(max_length=20, choices=Group.choices, default=Group.SIZE)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order within its group.")
    headline = models.BooleanField(default=False, help_text="Shown in the region list.")
    allow_negative = models.BooleanField(default=False)
    description = models.TextField(blank=True)

    objects = MetricManager()

    class Meta:
        base_manager_name = "objects"
        ordering = [metric_group_rank(), "position", "name"]

    def __str__(self):
        return f"{self.name} ({self.unit})" if self.unit else self.name

    def natural_key(self):
        return (self.code,)


class FigureQuerySet(ContentQuerySet):
    def latest_per_metric(self):
        """For each region and metric, only the figure of the latest year.

        Written as "no newer figure exists" rather than DISTINCT ON, so it also runs on SQLite.
        """
        newer = Figure.objects.filter(region=OuterRef("region"), metric=OuterRef("metric"), year__gt=OuterRef("year"))
        return self.exclude(Exists(newer))

    def latest_for_comparison(self):
        """The latest figure of each region and metric as plain values, with its metric, in Metric's
        order: (region_id, metric_id, metric code, name, unit, group, value, qualifier, year).

        The metrics in it are exactly those some region has a figure for (every metric with a
        figure has a latest one): the ones worth offering for comparison, so the compare page
        reads them from here rather than by a query of their own.
        """
        return (
            self.latest_per_metric()
            # Metric's ordering, through the figure; the metric's id keeps a metric's figures
            # together should two metrics tie on the rest. The group's rank is an alias, resolved
            # once when the queryset is built rather than each time it is compiled.
            .alias(metric_group_rank=metric_group_rank("metric__group"))
            .order_by("metric_group_rank", "metric__position", "metric__name", "metric_id")
            .values_list(*COMPARISON_FIGURE_FIELDS)
        )


# What latest_for_comparison() reads of each figure: the region, the metric (as the Metric fields
# COMPARISON_METRIC_FIELDS), then the figure's own value, qualifier and year.
COMPARISON_METRIC_FIELDS = ["id", "code", "name", "unit", "group"]
COMPARISON_FIGURE_FIELDS = [
    "region_id",
    *(f"metric__{name}" for name in COMPARISON_METRIC_FIELDS),
    "value",
    "qualifier",
    "year",
]


class FigureManager(models.Manager.from_queryset(FigureQuerySet)):
    def get_by_natural_key(self, region_slug, metric_code, year):
        return self.get(region__slug=region_slug, metric__code=metric_code, year=year)


class Figure(models.Model):
    """One region's value for one metric in one year."""

    class Qualifier(models.TextChoices):
        EXACT = "", "exactly"
        OVER = "over", "over"
        MORE_THAN = "more than", "more than"
        ABOUT = "about", "about"

    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="figures")
    metric = models.ForeignKey(Metric, on_delete=models.PROTECT, related_name="figures")
    value = models.DecimalField(max_digits=16, decimal_places=2)
    qualifier = models.CharField(max_length=10, choices=Qualifier.choices, default=Qualifier.EXACT, blank=True)
    year = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(EARLIEST_YEAR), MaxValueValidator(LATEST_YEAR)]
    )
    source = models.CharField("source note", max_length=250, blank=True)

    objects = FigureManager()

    class Meta:
        base_manager_name = "objects"
        ordering = [metric_group_rank("metric__group"), "metric__position", "metric__name", "-year"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "metric", "year"],
                name="one_figure_per_region_metric_year",
                violation_error_message="This region already has a figure for this metric and year.",
            )
        ]

    def __str__(self):
        return f"{self.region}: {self.metric.name} {self.year}"

    def natural_key(self):
        return (self.region.slug, self.metric.code, self.year)

    natural_key.dependencies = ["regions.region", "regions.metric"]

    def clean(self):
        if self.value is not None and self.value < 0 and self.metric_id and not self.metric.allow_negative:
            raise ValidationError({"value": f"{self.metric.name} cannot be negative."})


def figures_by_group(figures):
    """`figures` (in Figure's ordering) as {group code: [figures]}, for one section per group."""
    return {group: list(members) for group, members in groupby(figures, key=lambda figure: figure.metric.group)}


class Institution(SavedWithSearchIndex, models.Model):
    class Kind(models.TextChoices):
        UNIVERSITY = "university", "university or college"
        RESEARCH = "research", "R&D institution"
        CENTRE = "centre", "centre of excellence"
        SCIENCE_PARK = "science_park", "science park"

    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="institutions")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.UNIVERSITY)
    students = models.PositiveIntegerField(null=True, blank=True)
    staff = models.PositiveIntegerField("employees", null=True, blank=True)
    note = models.CharField(max_length=250, blank=True, help_text='e.g. "four Nobel Prizes"')
    website = models.URLField(blank=True)

    objects = SlugManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["region", "kind", "name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)


class Cluster(SavedWithSearchIndex, models.Model):
    """A priority cluster of a region, with its niches and the network that runs it."""

    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="clusters")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    niches = models.CharField(max_length=300, blank=True, help_text='e.g. "oil, gas, environmental technology"')
    description = models.TextField(blank=True)
    network = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="clusters",
        help_text="The organisation that runs this cluster's network.",
    )
    position = models.PositiveSmallIntegerField(default=0)

    objects = SlugManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["region", "position", "name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)
