"""Member regions of the Baltic Metropoles network, and their key figures kept as data."""

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from baltmet.publishing import SlugNaturalKeyManagerMixin
from baltmet.sanitize import SanitizedRichTextField
from baltmet.uploads import UploadTo


class SlugManager(SlugNaturalKeyManagerMixin, models.Manager):
    pass


class MetricManager(models.Manager):
    def get_by_natural_key(self, code):
        return self.get(code=code)


class Organisation(models.Model):
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
        ordering = ["name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)


class Region(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    country = models.CharField(max_length=100)
    designation = models.CharField(
        max_length=200, blank=True, help_text='e.g. "capital of the Kingdom of Norway"'
    )
    lead = models.TextField(blank=True, help_text="A plain-text summary shown in lists.")
    body = SanitizedRichTextField(
        "strategy", blank=True, help_text="The region's innovation strategy and how its clusters work."
    )
    policy = SanitizedRichTextField("innovation policy", blank=True)
    image = models.ImageField(upload_to=UploadTo("regions"), blank=True)
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

    objects = SlugManager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)

    def get_absolute_url(self):
        return reverse("regions:detail", args=[self.slug])

    def clean(self):
        if self.image and not self.image_alt.strip():
            raise ValidationError({"image_alt": "An image needs a text alternative."})


class Metric(models.Model):
    """Something regions are compared on: population, area, universities and colleges, ..."""

    class Group(models.TextChoices):
        SIZE = "size", "Size"
        EDUCATION = "education", "Education and R&D"
        INNOVATION = "innovation", "Innovation"

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
        ordering = ["group", "position", "name"]

    def __str__(self):
        return f"{self.name} ({self.unit})" if self.unit else self.name

    def natural_key(self):
        return (self.code,)


class FigureManager(models.Manager):
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
    year = models.PositiveSmallIntegerField()
    source = models.CharField("source note", max_length=250, blank=True)

    objects = FigureManager()

    class Meta:
        ordering = ["metric__group", "metric__position", "-year"]
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


class Institution(models.Model):
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
        ordering = ["region", "kind", "name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)


class Cluster(models.Model):
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
        ordering = ["region", "position", "name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)
