"""
Fill a database with realistic, varied demo content, quickly: for benchmarks and for trying
the site at scale.

    manage.py generate_demo_content --articles 100000 --events 5000 --regions 12

Articles and events come in a mix of published, draft and scheduled, spread over the past
years (events also into the coming months), with topics, regions and events attached; the
regions get key figures, institutions and clusters. The same --seed gives the same content.

Everything is written with bulk inserts (bulk_create in batches, many-to-many rows straight
into the through tables) in one transaction. Bulk inserts skip model signals, so what the
signals would do is done here: the search vectors are computed for each batch of new rows
right after it (baltmet.search_index.update_vectors; one statement for all of them outlasted
a statement timeout), for the regions at the end, and the page cache's content version
changes (ContentQuerySet.bulk_create). After the commit the tables are vacuumed and analysed, so that
the planner knows their sizes and index-only scans work at once. The sanitiser's pre_save receiver is skipped too: the rich
text made here uses only tags the sanitiser keeps, exactly as it writes them (a test checks).

About three articles in five, and the new regions, have a picture: one of PICTURES made here
(coloured shapes, as a stock of photos a news desk reuses), stored in MEDIA_ROOT under a name
made from its bytes (demo/generated-demo-<digest>.jpg), so that a name always stands for the
same picture, as an upload's does, and its renditions (baltmet.renditions) are made before the
commit, so that no page of the new content makes them in a visitor's request.

Generated articles, events, institutions and clusters have slugs starting with
"generated-demo-" and a number (or a region's slug), which editors rarely write: --clear deletes
the generated articles and events, and nothing else, in batches (the page cache's receivers
would otherwise have every row loaded at once); it refuses while an article it did not make is
about an event it made, and while an article or event with such a slug was added or edited in
the admin's forms (an editor's "Generated demo 2024: ..."; the publish and unpublish actions
on many items do not count). One with such a slug that came in otherwise (loaddata, a script)
is taken for its own. Regions, topics and metrics are shared with real content: existing
ones (same slug or code) are used, missing ones added with their figures, institutions and
clusters, and --clear leaves them.
"""

import hashlib
import io
import random
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, connection, reset_queries, transaction
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.html import escape
from django.utils.text import slugify

from PIL import Image, ImageDraw, ImageFilter

from baltmet import renditions
from baltmet.search_index import update_vectors
from news.models import Article, Event, Topic
from regions.models import Cluster, Figure, Institution, Metric, Region

PREFIX = "generated-demo-"
BATCH_SIZE = 2000
PICTURES = 12
PICTURE_SIZE = (1600, 1067)
PICTURE_SHARE = 0.6  # of the articles
# Region-less events: network-wide ones, in Brussels (as the seed page's seminar at the Open
# Days).
NETWORK_PLACE = ("Brussels", "Belgium")

REGIONS = [
    ("Berlin", "Germany", "capital of the Federal Republic of Germany"),
    ("Copenhagen", "Denmark", "capital of the Kingdom of Denmark"),
    ("Helsinki", "Finland", "capital of the Republic of Finland"),
    ("Oslo", "Norway", "capital of the Kingdom of Norway"),
    ("Riga", "Latvia", "capital of the Republic of Latvia"),
    ("St. Petersburg", "Russia", "second city of the Russian Federation"),
    ("Stockholm", "Sweden", "capital of the Kingdom of Sweden"),
    ("Tallinn", "Estonia", "capital of the Republic of Estonia"),
    ("Vilnius", "Lithuania", "capital of the Republic of Lithuania"),
    ("Warsaw", "Poland", "capital of the Republic of Poland"),
    ("Hamburg", "Germany", "a city-state of the Federal Republic of Germany"),
    ("Gdańsk", "Poland", "capital of the Pomeranian Voivodeship"),
    ("Malmö", "Sweden", "centre of the Öresund region"),
    ("Turku", "Finland", "capital of Southwest Finland"),
    ("Kaunas", "Lithuania", "second city of Lithuania"),
    ("Tartu", "Estonia", "university city of Estonia"),
]

TOPICS = [
    "Cluster development", "Smart cities", "Clean energy", "Maritime and shipping", "Life sciences",
    "ICT and digitalisation", "Logistics", "Design and creative industries", "Higher education",
    "Research funding", "Start-ups", "Innovation policy", "Tourism", "Food and bioeconomy",
    "Transport", "Water and environment",
]

METRICS = [
    # code, name, unit, group, position, headline, low, high
    ("population", "Population", "inhabitants", Metric.Group.SIZE, 10, True, 300_000, 5_500_000),
    ("area", "Area", "km²", Metric.Group.SIZE, 20, True, 150, 1_500),
    ("universities-and-colleges", "Universities and colleges, private and public", "",
     Metric.Group.EDUCATION, 10, False, 3, 40),
    ("students", "Students living in the region", "", Metric.Group.EDUCATION, 50, True, 20_000, 250_000),
    ("science-parks", "Science parks", "", Metric.Group.EDUCATION, 40, False, 1, 12),
    ("priority-clusters", "Priority clusters", "", Metric.Group.INNOVATION, 10, False, 3, 12),
]

ACTORS = [
    "science park", "cluster network", "innovation agency", "technical university", "start-up hub",
    "city administration", "business school", "maritime cluster", "energy agency", "chamber of commerce",
    "research institute", "regional council", "incubator", "port authority", "design centre",
]
# What a city's actor does: the verbs that go with each story.
STORIES = [
    (("opens", "presents", "funds"), "a new lab for {field}"),
    (("launches", "joins", "completes", "presents"), "a joint project on {field}"),
    (("publishes", "presents", "adopts"), "its strategy for {field}"),
    (("launches", "announces", "opens"), "a call for {field} pilots"),
    (("signs", "announces", "expands"), "a partnership with {city}"),
    (("publishes", "presents", "completes"), "a study of {field} in the Baltic Sea Region"),
    (("launches", "expands", "funds"), "an exchange programme for {field} students"),
    (("hosts", "announces", "organises"), "a matchmaking day on {field}"),
    (("presents", "publishes", "shares"), "the first results of its {field} network"),
    (("opens", "funds", "launches"), "a testbed for {field}"),
]
# News of an event, before it starts and after it.
EVENT_NEWS_BEFORE = ["registration is open", "the programme is out", "the speakers are announced", "a week to go"]
EVENT_NEWS_AFTER = ["what we learned", "a look back", "the results", "the presentations are online"]
FIELDS = [
    "clean energy", "smart mobility", "e-health", "maritime logistics", "circular economy",
    "food technology", "cyber security", "urban design", "water technology", "biotechnology",
    "digital services", "green hydrogen", "sustainable tourism", "artificial intelligence",
]
# The topic a field's news belongs to (where the run has that topic).
FIELD_TOPICS = {
    "clean energy": "Clean energy", "smart mobility": "Transport", "e-health": "Life sciences",
    "maritime logistics": "Maritime and shipping", "circular economy": "Water and environment",
    "food technology": "Food and bioeconomy", "cyber security": "ICT and digitalisation",
    "urban design": "Smart cities", "water technology": "Water and environment", "biotechnology": "Life sciences",
    "digital services": "ICT and digitalisation", "green hydrogen": "Clean energy",
    "sustainable tourism": "Tourism", "artificial intelligence": "ICT and digitalisation",
}
EVENT_KINDS = [
    "conference", "workshop", "matchmaking day", "summer school", "study visit", "forum", "seminar",
    "hackathon", "partner meeting", "final conference",
]
VENUES = ["Congress Centre", "Science Park", "City Hall", "Technical University", "Innovation House", "Old Harbour"]
SENTENCES = [
    "Partners from {city} and {other} met to plan the next steps in {field}.",
    "The {actor} brings together companies, universities and the public sector.",
    "More than {number} participants took part in the first round.",
    "The work is part of the BaltMet Inno project of the Baltic Metropoles network.",
    "Small and medium-sized companies are invited to join the pilots.",
    "Results will be shared with the other capital-city regions around the Baltic Sea.",
    "The project runs for {years} years and is co-financed by the partners.",
    "A report on {field} in the region will follow in the spring.",
    "Cluster managers from {other} shared their experience with similar programmes.",
    "Students and researchers will work with companies on real cases.",
]


class Command(BaseCommand):
    help = "Fill the database with realistic demo news, events and regions, quickly (bulk inserts)."

    def add_arguments(self, parser):
        parser.add_argument("--articles", type=int, default=1000, help="How many articles (default 1000).")
        parser.add_argument("--events", type=int, default=200, help="How many events (default 200).")
        parser.add_argument(
            "--regions", type=int, default=10, help=f"How many regions (default 10, at most {len(REGIONS)})."
        )
        parser.add_argument("--topics", type=int, default=12, help=f"How many topics (default 12, at most {len(TOPICS)}).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed: the same seed gives the same content.")
        parser.add_argument("--clear", action="store_true", help="Delete earlier demo articles and events first.")

    def handle(self, *args, **options):
        for name in ("articles", "events", "regions", "topics"):
            if options[name] < 0:
                raise CommandError(f"--{name} cannot be negative.")
        if options["regions"] < 1 or options["topics"] < 1:
            raise CommandError("--regions and --topics must be at least 1.")
        if options["topics"] > len(TOPICS):
            raise CommandError(f"--topics can be at most {len(TOPICS)}.")
        if options["regions"] > len(REGIONS):
            raise CommandError(f"--regions can be at most {len(REGIONS)}.")
        self.seed = options["seed"]
        self.verbosity = options["verbosity"]
        self.now = timezone.now()
        started = time.perf_counter()
        self.committing = False
        try:
            self.generate(options)
        except IntegrityError as error:
            # Rows of a run before, changed since (a generated region given another slug, its
            # institutions left under the old one): nothing is committed.
            raise CommandError(
                f"Nothing was generated: a row it would add clashes with one the database has. {error}".strip()
            ) from error
        except KeyboardInterrupt:
            # Ctrl-C: a bare traceback would not say whether anything was committed.
            if not self.committing:
                raise CommandError("Interrupted: nothing was generated (rolled back).") from None
            raise CommandError(
                "Interrupted while committing: the demo content may or may not be there; run the command "
                "again with --clear."
            ) from None
        try:
            self.step("vacuum and planner statistics", analyze)
        except KeyboardInterrupt:
            raise CommandError(
                f"Interrupted: the demo content is there ({self.articles} articles, {len(self.events)} events), "
                "only VACUUM ANALYZE was skipped (autovacuum will come by, or run it yourself)."
            ) from None
        if self.verbosity >= 1:
            self.stdout.write(
                f"Generated {self.articles} articles and {len(self.events)} events, with {len(self.regions)} regions "
                f"({self.new_regions} new) and {len(self.topics)} topics ({self.new_topics} new), in "
                f"{time.perf_counter() - started:.1f} s."
            )

    def generate(self, options):
        with transaction.atomic(), dates_as_given(Article, Event):
            if options["clear"]:
                self.clear()
            elif generated(Article).exists() or generated(Event).exists():
                raise CommandError("This database already has generated demo content; pass --clear to replace it.")
            # Files, not rows: named after their bytes, they are the same whatever becomes of
            # the transaction. Their renditions are made before the commit, whose new content
            # version shows them: no page makes them in a visitor's request.
            pictures = self.step("pictures", self.make_pictures)
            self.step("renditions of the pictures", make_picture_renditions, pictures)
            self.regions = self.step("regions", self.make_regions, options["regions"], pictures)
            self.topics = self.step("topics", self.make_topics, options["topics"])
            self.events = self.step("events", self.make_events, options["events"], self.regions)
            self.articles = self.step(
                "articles", self.make_articles, options["articles"], self.topics, self.regions, self.events, pictures
            )
            self.step("search vectors of the regions", self.finish, self.regions)
            # From here the block commits: interrupted there, the commit may have happened.
            self.committing = True

    def step(self, name, function, *args):
        # Each step draws from its own sequence, so that what one makes does not depend on
        # what an earlier one found already there (regions and topics are reused).
        self.rng = random.Random(f"{self.seed}:{name}")
        started = time.perf_counter()
        result = function(*args)
        if self.verbosity >= 2:
            self.stdout.write(f"  {name}: {time.perf_counter() - started:.1f} s")
        return result

    # --- Shared content: regions, topics, metrics -------------------------------------

    def make_pictures(self):
        """[(name, alt text)] of PICTURES pictures in MEDIA_ROOT, written where missing or not
        whole (a run stopped by a full disk), each written aside and renamed into place."""
        pictures = []
        for number in range(1, PICTURES + 1):
            data = picture(self.rng)
            name = f"demo/{PREFIX}{hashlib.sha256(data).hexdigest()[:16]}.jpg"
            try:
                if not default_storage.exists(name) or _read(name) != data:
                    renditions.put_whole(default_storage, name, data)
            except OSError as error:
                raise CommandError(
                    f"Cannot write the demo pictures into MEDIA_ROOT ({settings.MEDIA_ROOT}): {error}"
                ) from error
            pictures.append((name, f"Demo picture {number}: coloured shapes"))
        return pictures

    def make_regions(self, count, pictures):
        by_slug = {slugify(name): (name, country, designation) for name, country, designation in REGIONS[:count]}
        existing = Region.objects.in_bulk(list(by_slug), field_name="slug")
        new = [
            Region(
                name=name,
                slug=slug,
                country=country,
                designation=designation,
                image=pictures[position % len(pictures)][0],
                image_alt=pictures[position % len(pictures)][1],
                lead=f"{name} is a member region of the Baltic Metropoles network, strong in "
                f"{self.rng.choice(FIELDS)} and {self.rng.choice(FIELDS)}.",
                body=self.rich_text(name, paragraphs=3),
                policy=self.rich_text(name, paragraphs=2),
            )
            for position, (slug, (name, country, designation)) in enumerate(by_slug.items())
            if slug not in existing
        ]
        Region.objects.bulk_create(new, batch_size=BATCH_SIZE)
        self.new_regions = len(new)
        self.add_region_facts(new)
        regions = list(Region.objects.filter(slug__in=list(by_slug)).order_by("pk"))
        return regions

    def add_region_facts(self, regions):
        metrics = {}
        for code, name, unit, group, position, headline, low, high in METRICS:
            metric, _ = Metric.objects.get_or_create(
                code=code, defaults={"name": name, "unit": unit, "group": group, "position": position, "headline": headline}
            )
            metrics[code] = (metric, low, high)
        figures, institutions, clusters = [], [], []
        for region in regions:
            fields = self.rng.sample(FIELDS, self.rng.randint(3, 7))
            for code, (metric, low, high) in metrics.items():
                # One region's figures of two years are alike: its area the same, the rest
                # grown or shrunk a little, its priority clusters those it is given below.
                value = len(fields) if code == "priority-clusters" else self.rng.randint(low, high)
                for year in (2005, 2007):
                    figures.append(
                        Figure(region=region, metric=metric, value=Decimal(value), year=year, source="Demo data")
                    )
                    if code not in ("area", "priority-clusters"):
                        value = max(low, round(value * self.rng.uniform(0.97, 1.06)))
            for n in range(self.rng.randint(2, 6)):
                kind = self.rng.choice(list(Institution.Kind))
                institutions.append(
                    Institution(
                        region=region,
                        name=f"{region.name} {self.rng.choice(['University', 'Institute', 'Academy', 'Centre'])} "
                        f"of {self.rng.choice(FIELDS).title()}",
                        slug=f"{PREFIX}{region.slug}-institution-{n}",
                        kind=kind,
                        students=self.rng.randint(500, 30_000) if kind == Institution.Kind.UNIVERSITY else None,
                        staff=self.rng.randint(50, 4_000),
                    )
                )
            for n, field in enumerate(fields):
                clusters.append(
                    Cluster(
                        region=region,
                        name=field.capitalize(),
                        slug=f"{PREFIX}{region.slug}-cluster-{n}",
                        niches=", ".join(self.rng.sample(FIELDS, 2)),
                        description=f"Companies and researchers in {region.name} working on {field}.",
                        position=n,
                    )
                )
        Figure.objects.bulk_create(figures, batch_size=BATCH_SIZE, ignore_conflicts=True)
        Institution.objects.bulk_create(institutions, batch_size=BATCH_SIZE)
        Cluster.objects.bulk_create(clusters, batch_size=BATCH_SIZE)

    def make_topics(self, count):
        names = TOPICS[:count]
        existing = Topic.objects.in_bulk([slugify(name) for name in names], field_name="slug")
        new = Topic.objects.bulk_create(
            [
                Topic(name=name, slug=slugify(name), description=f"News about {name.lower()} in the Baltic Metropoles.")
                for name in names
                if slugify(name) not in existing
            ]
        )
        self.new_topics = len(new)
        return list(Topic.objects.filter(slug__in=[slugify(name) for name in names]).order_by("pk"))

    # --- Events and articles ----------------------------------------------------------

    def make_events(self, count, regions):
        rng = self.rng
        events = []
        self.event_fields = {}  # slug: the field an event is on, for the news of it
        for n in range(count):
            region = rng.choice(regions) if rng.random() < 0.85 else None
            city, country = (region.name, region.country) if region else NETWORK_PLACE
            field = rng.choice(FIELDS)
            kind = rng.choice(EVENT_KINDS)
            title = f"{region.name if region else 'Baltic Metropoles'} {kind} on {field}"
            # Most in the past ten years, some in the coming four months (those announced
            # already, or scheduled to be); in the daytime, in the site's time zone.
            days = rng.uniform(-3650, 0) if rng.random() < 0.92 else rng.uniform(0, 120)
            day = timezone.localtime(self.now + timedelta(days=days))
            all_day = rng.random() < 0.6
            if all_day:
                starts = day.replace(hour=9, minute=0, second=0, microsecond=0)
                ends = starts + timedelta(days=rng.randint(0, 2), hours=8)
            else:
                starts = day.replace(hour=rng.randint(8, 17), minute=rng.choice([0, 30]), second=0, microsecond=0)
                ends = starts + timedelta(hours=rng.randint(2, 6))
            status, publish_at = self.announcement(starts)
            events.append(
                Event(
                    title=title,
                    slug=f"{PREFIX}{n}-{slugify(title)}"[:250],
                    starts=starts,
                    ends=ends,
                    all_day=all_day,
                    venue=f"{city} {rng.choice(VENUES)}",
                    city=city,
                    country=country,
                    organisers=f"The {city} {rng.choice(ACTORS)} in cooperation with the {rng.choice(ACTORS)}",
                    lead=f"A {kind} for companies, researchers and cities working on {field}.",
                    body=self.rich_text(city, paragraphs=rng.randint(2, 4)),
                    registration_url=f"https://www.example.org/register/{n}" if rng.random() < 0.5 else "",
                    region=region,
                    status=status,
                    publish_at=publish_at,
                    **self.dates(publish_at),
                )
            )
            self.event_fields[events[-1].slug] = field
        for start in range(0, count, BATCH_SIZE):
            batch = events[start : start + BATCH_SIZE]
            Event.objects.bulk_create(batch)
            index(Event, batch)
        return events

    def make_articles(self, count, topics, regions, events, pictures):
        rng = self.rng
        # Drawn apart, so that the rest of the content is what the same seed gave before.
        pick = random.Random(f"{self.seed}:article pictures")
        published_events = [event for event in events if event.status == Event.Status.PUBLISHED]
        # A partnership needs another city; a field's topic, this run's topic of that name.
        stories = STORIES if len(regions) > 1 else [each for each in STORIES if "{city}" not in each[1]]
        by_name = {topic.name: topic for topic in topics}
        field_topics = {field: by_name.get(name) for field, name in FIELD_TOPICS.items()}
        article_topics = Article.topics.through
        article_regions = Article.regions.through
        made = 0
        for start in range(0, count, BATCH_SIZE):
            articles, links = [], []
            for n in range(start, min(start + BATCH_SIZE, count)):
                event = rng.choice(published_events) if published_events and rng.random() < 0.05 else None
                if event:
                    status, publish_at = self.news_of(event)
                    story = self.news_of_event(event, publish_at)
                else:
                    status, publish_at = self.publication(earliest=self.now - timedelta(days=15 * 365))
                    story = self.news_of_a_city(regions, stories)
                title, city, field, linked_regions = story
                image, image_alt = pick.choice(pictures) if pick.random() < PICTURE_SHARE else ("", "")
                articles.append(
                    Article(
                        title=title[:250],
                        slug=f"{PREFIX}{n}-{slugify(title)}"[:250],
                        lead=self.sentences(city, 2),
                        body=self.rich_text(city, paragraphs=rng.randint(3, 6)),
                        status=status,
                        publish_at=publish_at,
                        event=event,
                        image=image,
                        image_alt=image_alt,
                        **self.dates(publish_at),
                    )
                )
                links.append((self.topics_of(field_topics[field], topics), linked_regions))
            Article.objects.bulk_create(articles)
            topic_rows, region_rows = [], []
            for article, (its_topics, its_regions) in zip(articles, links):
                topic_rows += [article_topics(article_id=article.pk, topic_id=topic.pk) for topic in its_topics]
                region_rows += [article_regions(article_id=article.pk, region_id=region.pk) for region in its_regions]
            article_topics.objects.bulk_create(topic_rows)
            article_regions.objects.bulk_create(region_rows)
            index(Article, articles)
            made += len(articles)
            reset_queries()  # with DEBUG on, Django would keep every batch's SQL
        return made

    def news_of_a_city(self, regions, stories):
        """(title, city, field, regions to link) of one of `stories` of one of `regions`: linked
        to it, and to the other city where it is a partnership (review r30c: links drawn apart
        from the title put a region's news on other regions' pages)."""
        rng = self.rng
        region, field = rng.choice(regions), rng.choice(FIELDS)
        verbs, story = rng.choice(stories)
        partner = rng.choice([other for other in regions if other != region]) if "{city}" in story else None
        title = f"{region.name} {rng.choice(ACTORS)} {rng.choice(verbs)} " + story.format(
            field=field, city=partner.name if partner else ""
        )
        return title, region.name, field, [region, partner] if partner else [region]

    def news_of_event(self, event, publish_at):
        """(title, city, field, regions to link) of news of `event`, published at `publish_at`:
        named after it, before it starts or after, and linked to its region (none for a
        network-wide one)."""
        stage = EVENT_NEWS_BEFORE if publish_at < event.starts else EVENT_NEWS_AFTER
        title = f"{event.title}: {self.rng.choice(stage)}"
        return title, event.city, self.event_fields[event.slug], [event.region] if event.region else []

    def topics_of(self, own, topics):
        """One to three of `topics`, among them `own` (the field's topic) where the run has it."""
        chosen = self.rng.sample(topics, min(len(topics), self.rng.randint(1, 3)))
        if own is None or own in chosen:
            return chosen
        return [own, *chosen[:-1]]

    def publication(self, earliest):
        """(status, publish_at): about 80 % published, 5 % scheduled for the coming weeks, 15 % drafts."""
        roll = self.rng.random()
        if roll < 0.05:
            return Article.Status.PUBLISHED, self.now + timedelta(hours=self.rng.uniform(1, 24 * 30))
        past = earliest + (self.now - earliest) * self.rng.random()
        return (Article.Status.DRAFT if roll < 0.20 else Article.Status.PUBLISHED), min(past, self.now)

    def announcement(self, starts):
        """(status, publish_at) of an event: announced one to thirteen weeks before it starts
        (scheduled, where that is still to come); about 15 % drafts."""
        publish_at = starts - timedelta(days=self.rng.uniform(7, 91))
        return (Event.Status.DRAFT if self.rng.random() < 0.15 else Event.Status.PUBLISHED), publish_at

    def news_of(self, event):
        """(status, publish_at) of an article about `event`: from its announcement up to a
        month before it, to two weeks after it (a report)."""
        publish_at = max(event.publish_at, event.starts + timedelta(days=self.rng.uniform(-30, 14)))
        return (Article.Status.DRAFT if self.rng.random() < 0.15 else Article.Status.PUBLISHED), publish_at

    def dates(self, publish_at):
        """Created and last changed when published (or now, for what is scheduled)."""
        changed = min(publish_at, self.now)
        return {"created": changed, "updated": changed}

    # --- Text -----------------------------------------------------------------------

    def sentences(self, city, count):
        rng = self.rng
        return " ".join(
            sentence.format(
                city=city,
                other=rng.choice(REGIONS)[0],
                field=rng.choice(FIELDS),
                actor=rng.choice(ACTORS),
                number=rng.randint(20, 400),
                years=rng.randint(2, 5),
            )
            for sentence in rng.sample(SENTENCES, count)
        )

    def rich_text(self, city, paragraphs):
        """HTML with only what baltmet.sanitize keeps, written as it writes it."""
        rng = self.rng
        parts = []
        for n in range(paragraphs):
            if n == 1:
                parts.append(f"<h2>{escape(rng.choice(FIELDS).capitalize())} in {escape(city)}</h2>")
            text = escape(self.sentences(city, rng.randint(2, 4)))
            if rng.random() < 0.3:
                text = f"<strong>{escape(rng.choice(FIELDS).capitalize())}:</strong> {text}"
            parts.append(f"<p>{text}</p>")
            if n == 2 and rng.random() < 0.4:
                items = "".join(f"<li>{escape(field)}</li>" for field in rng.sample(FIELDS, 3))
                parts.append(f"<ul>{items}</ul>")
        return "".join(parts)

    # --- Cleaning up and finishing -----------------------------------------------------

    def clear(self):
        if slugs := edited_in_the_admin(generated(Article)) + edited_in_the_admin(generated(Event)):
            raise CommandError(
                "--clear would delete articles or events that were added or edited in the admin's forms, "
                f"though their slugs look like the ones it makes ({', '.join(slugs)}): give them other "
                f"slugs first, or delete them yourself."
            )
        about_ours = Article.objects.filter(event__in=generated(Event)).exclude(pk__in=generated(Article).values("pk"))
        if slugs := list(about_ours.values_list("slug", flat=True)[:5]):
            raise CommandError(
                "--clear would unlink articles it did not make from the generated events they are "
                f"about ({', '.join(slugs)}{', ...' if len(slugs) == 5 else ''}): link them to other events first."
            )
        for model in (Article, Event):
            ids = list(generated(model).values_list("pk", flat=True))
            for start in range(0, len(ids), BATCH_SIZE):
                # With their links (topics, regions), a batch at a time, keys alone loaded.
                model.objects.filter(pk__in=ids[start : start + BATCH_SIZE]).only("pk").delete()

    def finish(self, regions):
        """What the skipped signals would have done for the regions (at most len(REGIONS)):
        their search vectors, which hold their new institutions and clusters. The articles'
        and events' are written batch by batch (index())."""
        update_vectors(Region.objects.filter(pk__in=[region.pk for region in regions]))


def index(model, rows):
    """The search vectors of `rows`, just bulk inserted, which sends no post_save to the search
    index (baltmet.search_index). A batch at a time, right after its rows: one UPDATE of every
    generated row took 24 to 46 s for 100 000 articles, past a statement timeout set on the
    database's role (README: 20 s behind PgBouncer), which rolled the whole run back."""
    update_vectors(model.objects.filter(pk__in=[row.pk for row in rows]))


def picture(rng):
    """A JPEG of PICTURE_SIZE: two colours fading into each other, with shapes, softened."""
    colours = [tuple(rng.randrange(40, 230) for _ in range(3)) for _ in range(2)]
    fade = Image.linear_gradient("L").rotate(rng.choice([0, 90, 180, 270])).resize(PICTURE_SIZE)
    first, second = (Image.new("RGB", PICTURE_SIZE, colour) for colour in colours)
    image = Image.composite(first, second, fade)
    draw = ImageDraw.Draw(image)
    width, height = PICTURE_SIZE
    for _ in range(rng.randint(8, 20)):
        x, y, size = rng.randrange(width), rng.randrange(height), rng.randrange(60, 500)
        shape = draw.ellipse if rng.random() < 0.6 else draw.rectangle
        shape((x, y, x + size, y + size * rng.uniform(0.5, 1.5)), fill=tuple(rng.randrange(256) for _ in range(3)))
    buffer = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(3)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _read(name):
    with default_storage.open(name, "rb") as file:
        return file.read()


def make_picture_renditions(pictures):
    """Every rendition of the pictures (all the generated content's images), so that no page
    of it makes them in a visitor's request; on disk, and remembered in the cache. One that
    cannot be written (a full disk, renditions/ owned by the web server's user) stops the
    command, before its commit."""
    field = Article._meta.get_field("image")
    for name, _ in pictures:
        image = field.attr_class(None, field, name)
        try:
            renditions.make_renditions(image, renditions.LEAD.widths)
        except OSError as error:
            raise CommandError(
                f"Cannot write the demo pictures' renditions into MEDIA_ROOT ({settings.MEDIA_ROOT}): {error}"
            ) from error
        # Found on disk now, and remembered. It reads the picture again (12 of them: about
        # 5 ms in all): it logs what fails rather than raising, and remembers a failure for
        # five minutes, so it cannot stand in for make_renditions above.
        renditions.make_every_width(image)


def generated(model):
    """The articles or events this command made: PREFIX, a number, a hyphen."""
    return model.objects.filter(slug__startswith=PREFIX, slug__regex=rf"^{PREFIX}[0-9]+-")


def edited_in_the_admin(queryset, most=5):
    """The slugs of up to `most` items of `queryset` with an entry in the admin's history other
    than a bulk action's: an editor's, added or edited in its form, whatever the slug says (an
    article "Generated demo 2024: ..."). What this command makes is bulk inserted, and gets
    such entries only where someone tried the admin's publish or unpublish on it."""
    from news.admin import BULK_ACTION_NOTE

    history = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(queryset.model)).exclude(
        change_message__endswith=BULK_ACTION_NOTE
    )
    keyed = queryset.annotate(key=Cast("pk", output_field=TextField()))
    return list(keyed.filter(key__in=history.values("object_id")).values_list("slug", flat=True)[:most])


def analyze():
    """VACUUM ANALYZE the new rows' tables: fresh planner statistics for their new sizes, and a
    visibility map, without which the index-only scans the lists rely on (docs/performance.md)
    read every row from the table until autovacuum comes by."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for model in (Article, Article.topics.through, Article.regions.through, Event, Region, Figure):
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"VACUUM ANALYZE {table}")
            # Right after a NOTIFY (the page cache announces the change at the commit,
            # baltmet.postgres_watch), a VACUUM left a quarter to half of the articles' pages not
            # marked all-visible (PostgreSQL 15, measured; one a second later marked them all).
            # A second pass marks them, and costs nothing where the first did.
            cursor.execute("SELECT relallvisible < relpages FROM pg_class WHERE oid = %s::regclass", [table])
            if cursor.fetchone()[0]:
                cursor.execute(f"VACUUM {table}")


@contextmanager
def dates_as_given(*models):
    """Let bulk_create write `created` and `updated` as set on the objects, instead of now."""
    fields = [
        field
        for model in models
        for field in model._meta.concrete_fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    ]
    saved = [(field, field.auto_now, field.auto_now_add) for field in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add
