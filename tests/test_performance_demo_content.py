"""manage.py generate_demo_content: varied demo content, fast, and what bulk inserts skip done once."""

import hashlib
import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from baltmet import renditions
from baltmet.management.commands import generate_demo_content
from baltmet.management.commands.generate_demo_content import PICTURES, picture
from baltmet.models import ContentVersion
from baltmet.sanitize import sanitize_html
from baltmet.search import search
from baltmet.search_index import CONFIG
from news.models import Article, Event
from regions.models import Cluster, Figure, Region
from tests.news_factories import make_article, make_past_event
from tests.decoded_uploads import visitor_at_each_version_change

pytestmark = pytest.mark.django_db


def _generate(**options):
    options = {"articles": 300, "events": 200, "regions": 5, "topics": 6, "seed": 3, "verbosity": 0, **options}
    call_command("generate_demo_content", **options)


def _rendition(media, name, width):
    # Named after the picture's bytes, in the folder of how renditions are encoded (baltmet.renditions).
    fingerprint = hashlib.sha256((media / name).read_bytes()).hexdigest()[:12]
    return f"renditions/{renditions.ENCODING}/{name}-{width}w.{fingerprint}.jpg"


def test_makes_the_numbers_asked_for_with_a_realistic_mix():
    _generate()
    now = timezone.now()
    articles = Article.objects.all()
    assert articles.count() == 300
    assert Region.objects.count() == 5
    assert Event.objects.count() == 200
    published = Article.objects.published().count()
    drafts = articles.filter(status=Article.Status.DRAFT).count()
    scheduled = articles.filter(status=Article.Status.PUBLISHED, publish_at__gt=now).count()
    assert published + drafts + scheduled == 300
    assert published > 200 and drafts > 10 and scheduled > 3
    assert Event.objects.upcoming().exists() and Event.objects.past().exists()
    assert Article.topics.through.objects.values("article").distinct().count() == 300, "every article has a topic"
    assert Article.regions.through.objects.exists()
    assert Figure.objects.filter(region__in=Region.objects.all()).count() >= 5 * 6
    titles = set(articles.values_list("title", flat=True))
    assert len(titles) > 250, "titles vary"
    # created/updated are those of the publication, not the moment of the run.
    oldest = Article.objects.published().order_by("publish_at").first()
    assert oldest.updated == oldest.publish_at < now


def test_rich_text_is_what_the_sanitiser_would_store():
    # Bulk inserts skip the sanitising pre_save receiver, so the text must already be clean.
    _generate(articles=100, events=20)
    for body in [*Article.objects.values_list("body", flat=True), *Event.objects.values_list("body", flat=True)]:
        assert sanitize_html(body) == body


def test_the_same_seed_gives_the_same_content():
    _generate(seed=11)
    first = list(Article.objects.order_by("slug").values_list("slug", "title", "status", "lead"))
    _generate(seed=11, clear=True)
    assert list(Article.objects.order_by("slug").values_list("slug", "title", "status", "lead")) == first
    _generate(seed=12, clear=True)
    assert list(Article.objects.order_by("slug").values_list("slug", "title", "status", "lead")) != first


def test_three_articles_in_five_and_the_new_regions_have_pictures_with_renditions_made(client, settings):
    _generate(articles=200, events=20, regions=3)
    media = Path(settings.MEDIA_ROOT)
    pictured = Article.objects.exclude(image="")
    assert 0.45 < pictured.count() / 200 < 0.75
    names = set(pictured.values_list("image", flat=True))
    assert 6 <= len(names) <= PICTURES, "a stock of pictures, each used many times"
    assert not pictured.filter(image_alt="").exists()
    assert not Region.objects.filter(image="").exists()
    for name in names | set(Region.objects.values_list("image", flat=True)):
        with Image.open(media / name) as opened:
            assert opened.format == "JPEG" and opened.size == (1600, 1067)
        # Made by the command, not in a visitor's request.
        assert (media / _rendition(media, name, 320)).is_file() and (media / _rendition(media, name, 1600)).is_file()
    article = pictured.filter(id__in=Article.objects.published()).first()
    page = client.get(article.get_absolute_url()).content.decode()
    assert f"/media/{_rendition(media, article.image.name, 1600)} 1600w" in page


def test_the_same_seed_gives_the_same_pictures_under_the_same_names(settings):
    _generate(articles=60, events=5, seed=11)
    first = sorted(Article.objects.exclude(image="").values_list("slug", "image"))
    files = sorted(path.name for path in Path(settings.MEDIA_ROOT, "demo").iterdir())
    _generate(articles=60, events=5, seed=11, clear=True)
    assert sorted(Article.objects.exclude(image="").values_list("slug", "image")) == first
    assert sorted(path.name for path in Path(settings.MEDIA_ROOT, "demo").iterdir()) == files
    _generate(articles=60, events=5, seed=12, clear=True)
    # Other pictures, under other names: a name always stands for the same picture.
    assert not set(Article.objects.values_list("image", flat=True)) & {image for _, image in first}


def test_a_picture_left_half_written_by_a_failed_run_is_written_again(settings):
    # A run stopped by a full disk while it wrote its first picture, then the same command
    # with room again: the name must stand for the picture, which must have its renditions.
    first = picture(random.Random("3:pictures"))
    name = f"demo/generated-demo-{hashlib.sha256(first).hexdigest()[:16]}.jpg"
    media = Path(settings.MEDIA_ROOT)
    (media / "demo").mkdir(parents=True)
    (media / name).write_bytes(first[: len(first) // 2])
    _generate(articles=60, events=5, regions=3)
    assert (media / name).read_bytes() == first
    assert (media / _rendition(media, name, 320)).is_file()


@pytest.mark.django_db(transaction=True)
def test_when_the_demo_contents_version_changes_its_pictures_renditions_are_ready(monkeypatch, settings):
    # The content shows once the command commits (the page cache's new version): a visitor then
    # must not make the pictures' renditions in their request.
    visits = visitor_at_each_version_change(monkeypatch, settings)
    _generate(articles=60, events=5, regions=3)
    assert visits and all(status == 200 for status, _, _ in visits)
    assert [decoded for _, _, decoded in visits if decoded] == [], "a visitor's request decoded the demo pictures"
    # Nor read them whole for their fingerprints: what their renditions are is remembered.
    pictures = [article.image.name for article in Article.objects.exclude(image="")]
    assert pictures and all(
        isinstance(cache.get(widths.key_for(name)), renditions._Remembered)
        for name in pictures
        for widths in (renditions.LEAD, renditions.CARDS)
    )


def test_a_media_root_it_cannot_write_into_is_named_and_nothing_is_written(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "a-file"
    settings.MEDIA_ROOT.write_text("not a folder")
    with pytest.raises(CommandError, match="MEDIA_ROOT"):
        _generate(articles=10, events=2)
    assert not Article.objects.exists() and not Event.objects.exists()


def test_renditions_it_cannot_write_are_named_and_nothing_is_committed(settings):
    # renditions/ belongs to the web server's user, or the disk is full (a file stands in for a
    # folder it cannot write into: the tests run as root).
    media = Path(settings.MEDIA_ROOT)
    media.mkdir(parents=True)
    (media / "renditions").write_text("not a folder")
    with pytest.raises(CommandError, match="MEDIA_ROOT"):
        _generate(articles=10, events=2)
    assert not Article.objects.exists() and not Event.objects.exists()


def test_refuses_to_add_to_earlier_demo_content_without_clear():
    _generate(articles=10, events=2)
    with pytest.raises(CommandError, match="--clear"):
        _generate(articles=10, events=2)


def test_does_what_the_skipped_signals_would_have_done(django_capture_on_commit_callbacks):
    before = ContentVersion.objects.get(pk=1).version if ContentVersion.objects.exists() else 0
    with django_capture_on_commit_callbacks(execute=True):
        _generate(articles=50, events=10)
    # The search index got its vectors and the page cache a new content version.
    assert not Article.objects.filter(search_vector__isnull=True).exists()
    assert not Event.objects.filter(search_vector__isnull=True).exists()
    assert not Region.objects.filter(search_vector__isnull=True).exists()
    assert ContentVersion.objects.get(pk=1).version != before


def test_search_vectors_are_written_a_batch_at_a_time(monkeypatch):
    # One UPDATE of every generated article's vector took 24 to 46 s for 100 000 of them, past
    # a statement timeout on the database's role (20 s), and the whole run was rolled back
    # (review r27c). Each UPDATE now covers one batch of rows, whatever the machine's speed
    # (review r27i: a test timed against a statement timeout would pass a faster machine).
    monkeypatch.setattr(generate_demo_content, "BATCH_SIZE", 100)
    written = []
    update_vectors = generate_demo_content.update_vectors

    def counted(queryset):
        written.append((queryset.model, queryset.count()))
        return update_vectors(queryset)

    monkeypatch.setattr(generate_demo_content, "update_vectors", counted)
    _generate(articles=1000, events=250)
    for model in (Article, Event):
        sizes = [size for written_model, size in written if written_model is model]
        assert max(sizes) <= 100 and sum(sizes) == model.objects.count()
    with connection.cursor() as cursor:
        # Every article is found by the words of its title.
        cursor.execute(
            "SELECT count(*) FROM news_article WHERE search_vector @@ plainto_tsquery(%s, title)", [CONFIG]
        )
        assert cursor.fetchone()[0] == Article.objects.count() == 1000
    assert not Event.objects.filter(search_vector__isnull=True).exists()
    last = Article.objects.published().order_by("-pk").first()
    assert last.pk in [result.object.pk for result in search(f'"{last.title}"')[:100] if result.kind == "article"]


def _interrupted(**options):
    # A KeyboardInterrupt that came through would stop the whole test session.
    try:
        _generate(**options)
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C came through as a bare KeyboardInterrupt, saying nothing of what was committed")


def test_ctrl_c_while_generating_says_nothing_was_generated(monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(generate_demo_content, "index", interrupted)
    with pytest.raises(CommandError, match=r"Interrupted: nothing was generated \(rolled back\)"):
        _interrupted(articles=30, events=5)
    assert not Article.objects.exists() and not Event.objects.exists()


def test_ctrl_c_during_vacuum_analyze_says_the_content_is_there(monkeypatch):
    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(generate_demo_content, "analyze", interrupted)
    with pytest.raises(CommandError, match="the demo content is there .*only VACUUM ANALYZE was skipped"):
        _interrupted(articles=30, events=5)
    assert Article.objects.count() == 30 and Event.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_ctrl_c_as_the_content_commits_says_it_may_be_there(monkeypatch):
    """Ctrl-C arriving once the commit has gone to the database, before it answered: the
    content is there, and the command must not say it was rolled back."""
    commit = connection.commit

    def committed_then_interrupted():
        commit()
        raise KeyboardInterrupt

    monkeypatch.setattr(connection, "commit", committed_then_interrupted)
    with pytest.raises(CommandError, match="Interrupted while committing: the demo content may or may not be there"):
        _interrupted(articles=30, events=5)
    monkeypatch.undo()
    assert Article.objects.count() == 30 and Event.objects.count() == 5


def test_the_site_shows_the_demo_content(client):
    _generate(articles=40, events=10)
    latest = Article.objects.published().first()
    assert latest.title in client.get("/").content.decode()
    assert client.get(latest.get_absolute_url()).status_code == 200
    region = Region.objects.first()
    assert client.get(region.get_absolute_url()).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_leaves_every_page_of_the_new_rows_visible_to_index_only_scans():
    """The lists count and page through the articles with index-only scans, which read the
    table for every page the visibility map does not mark all-visible."""
    call_command("generate_demo_content", articles=400, events=40, regions=3, verbosity=0)
    with connection.cursor() as cursor:
        for model in (Article, Event):
            cursor.execute("SELECT relallvisible, relpages FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
            visible, pages = cursor.fetchone()
            assert pages > 1 and visible == pages, model


# --- Only what it made --------------------------------------------------------------------


def _real_content_with_demo_like_slugs():
    event = make_past_event("Demo day for start-ups in Tallinn")
    return [
        event,
        make_article("Demo day: ten start-ups pitch in Tallinn", event=event),
        make_article("Generated demo data in research", slug="generated-demo-data-in-research"),
    ]


def test_clear_deletes_only_the_articles_and_events_it_made():
    real = _real_content_with_demo_like_slugs()
    _generate()  # a slug like theirs does not count as generated content
    _generate(clear=True)
    for item in real:
        assert type(item).objects.filter(pk=item.pk, slug=item.slug).exists(), item.slug
    assert Article.objects.count() == 300 + 2


def test_clear_refuses_to_unlink_an_article_it_did_not_make_from_an_event_it_made():
    _generate()
    event = Event.objects.filter(slug__startswith="generated-demo-").first()
    ours = make_article("Our report from the event", event=event)
    with pytest.raises(CommandError, match="our-report-from-the-event"):
        _generate(clear=True)
    ours.refresh_from_db()
    assert ours.event_id == event.pk


def test_clear_refuses_to_delete_an_editors_article_or_event_whose_slug_looks_generated(staff_client):
    # An editor's "Generated demo 2024: what we learned", saved in the admin.
    make_article("Generated demo 2024: what we learned", slug="generated-demo-2024-what-we-learned")
    article = Article.objects.get()
    assert staff_client.post(f"/admin/news/article/{article.pk}/change/", {
        "title": article.title, "slug": article.slug, "lead": "Edited.", "body": "<p>Text</p>",
        "status": "published", "publish_at_0": "2024-01-01", "publish_at_1": "00:00:00", "event": "",
    }).status_code == 302

    with pytest.raises(CommandError, match="edited in the admin's forms.*generated-demo-2024-what-we-learned"):
        _generate(articles=30, events=5, clear=True)

    assert Article.objects.filter(pk=article.pk).exists()


def test_clear_replaces_generated_drafts_published_with_the_admins_bulk_action(staff_client):
    _generate(articles=30, events=5)
    drafts = list(Article.objects.filter(status=Article.Status.DRAFT).values_list("pk", flat=True))
    response = staff_client.post("/admin/news/article/", {"action": "publish", "index": 0, "_selected_action": drafts})
    assert response.status_code == 302 and not Article.objects.filter(status=Article.Status.DRAFT).exists()

    _generate(articles=30, events=5, clear=True)

    assert not Article.objects.filter(pk__in=drafts).exists() and Article.objects.count() == 30


def test_a_run_clashing_with_a_generated_region_given_another_slug_is_refused_and_adds_nothing():
    _generate(articles=30, events=5, regions=1)
    Region.objects.filter(slug="berlin").update(slug="berlin-brandenburg")  # its institutions keep theirs
    before = Article.objects.count(), Event.objects.count(), Region.objects.count()

    with pytest.raises(CommandError, match="Nothing was generated: a row it would add clashes.*institution"):
        _generate(articles=30, events=5, regions=1, clear=True)

    assert (Article.objects.count(), Event.objects.count(), Region.objects.count()) == before


def test_clear_loads_the_keys_of_what_it_deletes_not_the_rows():
    # Every row loaded at once: 100 000 articles took ~800 MB.
    _generate()
    with CaptureQueriesContext(connection) as queries:
        _generate(clear=True, articles=0, events=0)
    assert Article.objects.count() == Event.objects.count() == 0
    loading = [
        query["sql"]
        for query in queries
        if query["sql"].startswith("SELECT") and ('"news_article"."body"' in query["sql"] or '"news_event"."body"' in query["sql"])
    ]
    assert not loading, loading[0][:300]


def test_clear_deletes_a_batch_at_a_time(monkeypatch):
    # 300 articles in batches of 100 (review r29e: with the batch size of 2000, one delete of
    # every row passed the tests above).
    _generate(events=0)
    monkeypatch.setattr(generate_demo_content, "BATCH_SIZE", 100)
    with CaptureQueriesContext(connection) as queries:
        _generate(clear=True, articles=0, events=0)
    assert Article.objects.count() == 0
    selected = 'SELECT "news_article"."id" FROM "news_article" WHERE "news_article"."id" IN ('
    batches = [query["sql"].count(",") + 1 for query in queries if query["sql"].startswith(selected)]
    assert len(batches) == 3 and max(batches) == 100, batches


def test_more_regions_than_it_has_names_for_are_refused():
    with pytest.raises(CommandError, match="--regions can be at most 16"):
        _generate(regions=17)


# --- Realistic ------------------------------------------------------------------------------


def test_events_are_announced_before_they_start_and_network_wide_ones_have_no_region():
    _generate()
    events = list(Event.objects.all())
    assert all(event.publish_at < event.starts for event in events)
    assert Event.objects.filter(region=None, city="Brussels").exists()
    assert Event.objects.filter(region__isnull=False).count() > 150


def test_timed_events_start_in_the_daytime_where_the_site_is():
    _generate()
    hours = {timezone.localtime(event.starts).hour for event in Event.objects.filter(all_day=False)}
    assert hours and min(hours) >= 8 and max(hours) <= 17, sorted(hours)


def test_an_article_about_an_event_comes_between_its_announcement_and_two_weeks_after_it():
    _generate(articles=2000)
    linked = Article.objects.exclude(event=None).select_related("event")
    assert linked.count() > 50
    for article in linked:
        assert article.event.publish_at <= article.publish_at <= article.event.starts + timedelta(days=14)


def test_a_regions_figures_of_two_years_are_alike_and_its_clusters_are_its_priority_clusters():
    _generate()
    for region in Region.objects.all():
        figures = {
            (code, year): value
            for code, year, value in Figure.objects.filter(region=region).values_list("metric__code", "year", "value")
        }
        assert figures[("area", 2005)] == figures[("area", 2007)]
        assert abs(figures[("population", 2007)] / figures[("population", 2005)] - 1) <= Decimal("0.06")
        clusters = list(Cluster.objects.filter(region=region).values_list("name", flat=True))
        assert figures[("priority-clusters", 2007)] == len(clusters) == len(set(clusters))


def _city_and_event_news():
    articles = Article.objects.select_related("event__region").prefetch_related("regions", "topics")
    city_news = [article for article in articles if article.event is None]
    return city_news, [article for article in articles if article.event is not None]


def test_a_citys_news_is_linked_to_its_region_and_a_partnership_to_the_other_city():
    # Links drawn apart from the title put a region's news on other regions' pages, and made
    # partnerships of a city with itself (review r30c).
    _generate(articles=600)
    names = set(Region.objects.values_list("name", flat=True))
    city_news, _ = _city_and_event_news()
    partnerships = 0
    for article in city_news:
        [city] = [name for name in names if article.title.startswith(name + " ")]
        linked = {region.name for region in article.regions.all()}
        if " a partnership with " in article.title:
            partner = article.title.rsplit(" a partnership with ", 1)[1]
            assert partner != city and linked == {city, partner}, article.title
            partnerships += 1
        else:
            assert linked == {city}, article.title
    assert partnerships > 20


def test_news_of_an_event_is_named_after_it_and_linked_to_its_region():
    _generate(articles=2000)
    _, event_news = _city_and_event_news()
    assert len(event_news) > 50 and any(article.event.region is None for article in event_news)
    for article in event_news:
        event = article.event
        assert article.title.startswith(event.title + ": ")
        stage = article.title.split(": ", 1)[1]
        assert stage in (generate_demo_content.EVENT_NEWS_BEFORE if article.publish_at < event.starts
                         else generate_demo_content.EVENT_NEWS_AFTER)
        assert list(article.regions.all()) == ([event.region] if event.region else [])


def test_an_articles_topics_begin_with_its_fields_where_the_run_has_that_topic():
    _generate(topics=16)
    city_news, event_news = _city_and_event_news()
    checked = 0
    for article in city_news + event_news:
        fields = [field for field in generate_demo_content.FIELDS if field in article.title]
        if len(fields) == 1:
            assert generate_demo_content.FIELD_TOPICS[fields[0]] in {topic.name for topic in article.topics.all()}
            checked += 1
    assert checked > 200
