"""The search vectors: stored in GIN-indexed columns and kept current on every save path."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from baltmet import search_index
from baltmet.search_index import update_vectors
from news.models import Article, Event
from regions.models import Region
from tests.admin_forms import form_data
from tests.news_factories import make_article, make_event
from tests.regions_factories import make_cluster, make_institution, make_organisation, make_region

pytestmark = pytest.mark.django_db


def lexemes(model, pk):
    """{lexeme: weights} of a row's stored search vector, read from the column itself."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT u.lexeme, array_to_string(u.weights, '') FROM {model._meta.db_table} t, "
            "unnest(t.search_vector) u WHERE t.id = %s",
            [pk],
        )
        return {lexeme: set(weights) for lexeme, weights in cursor.fetchall()}


def stored_vector(model, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT search_vector::text FROM {model._meta.db_table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    ("table", "index"),
    [
        ("news_article", "article_search_vector_idx"),
        ("news_event", "event_search_vector_idx"),
        ("regions_region", "region_search_vector_idx"),
    ],
)
def test_each_vector_column_has_a_gin_index(table, index):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    assert constraints[index]["columns"] == ["search_vector"]
    assert constraints[index]["type"] == "gin"


@pytest.mark.parametrize("table", ["news_article", "news_event", "regions_region"])
def test_vectors_are_kept_in_the_row_not_the_toast_table(table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstorage FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'search_vector'", [table]
        )
        assert cursor.fetchone()[0] == "m", "STORAGE MAIN: a vector is moved out of the row only as a last resort"


def test_orm_create_weights_title_a_lead_b_body_c_and_stems_in_english():
    article = make_article("Clusters meet", lead="Harbours grow", body="<p>Ministers <strong>talked</strong></p>")
    words = lexemes(Article, article.pk)
    assert words["cluster"] == {"A"} and words["meet"] == {"A"}
    assert words["harbour"] == {"B"} and words["grow"] == {"B"}
    assert words["minist"] == {"C"} and words["talk"] == {"C"}


def test_html_tags_and_entities_of_the_body_are_not_indexed_as_words():
    body = '<p class="x">R&amp;D <a href="https://example.org/strong">link</a></p>'
    article = make_article("Plain", lead="", body=body)
    words = set(lexemes(Article, article.pk))
    assert {"r", "d", "link"} <= words
    assert not words & {"p", "href", "https", "exampl", "amp", "class", "strong"}, words


def test_orm_update_replaces_the_old_words():
    article = make_article("Oslo harbour", lead="")
    article.title = "Riga harbour"
    article.save()
    words = lexemes(Article, article.pk)
    assert "riga" in words and "oslo" not in words


def test_save_with_update_fields_of_other_fields_keeps_the_vector():
    article = make_article("Oslo harbour")
    before = stored_vector(Article, article.pk)
    article.status = Article.Status.DRAFT
    article.save(update_fields=["status"])
    assert stored_vector(Article, article.pk) == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: make_article("Old name"), "title"),
        (lambda: make_cluster(make_region(), "ict", name="Old name"), "name"),
    ],
    ids=["article", "a region's cluster"],
)
def test_a_row_is_saved_together_with_its_search_vector_or_not_at_all(make, field, monkeypatch):
    # Outside a transaction, as in a maintenance script: a search must never miss the row's
    # new text because its vector was not updated, so a failed update takes the save back.
    instance = make()

    def failing(queryset):
        raise DatabaseError("the vector update failed")

    monkeypatch.setattr(search_index, "update_vectors", failing)
    setattr(instance, field, "New name")
    with pytest.raises(DatabaseError):
        instance.save()
    instance.refresh_from_db()
    assert getattr(instance, field) == "Old name"


def test_event_vector_holds_its_place_and_organisers():
    event = make_event("Matchmaking", city="Tallinn", venue="Kultuurikatel", organisers="Tallinn Science Park Tehnopol")
    words = lexemes(Event, event.pk)
    assert words["matchmak"] == {"A"}
    assert {"tallinn", "kultuurikatel", "tehnopol"} <= set(words)
    assert words["tehnopol"] == {"B"}


def test_region_vector_holds_its_clusters_institutions_and_agency_and_follows_their_changes():
    region = make_region("oslo", country="Norway", lead="A capital.")
    cluster = make_cluster(region, "oslo-energy", name="Energy", niches="oil, gas")
    make_institution(region, "uio", name="University of Oslo", note="four Nobel Prizes")
    agency = make_organisation("teknopol", name="Oslo Teknopol")
    region.agency = agency
    region.save()
    words = lexemes(Region, region.pk)
    assert words["oslo"] >= {"A"}
    assert {"energi", "oil", "gas", "univers", "nobel", "teknopol"} <= set(words)

    cluster.name = "Maritime"
    cluster.save()
    agency.name = "Oslo Business Region"
    agency.save()
    words = set(lexemes(Region, region.pk))
    assert "maritim" in words and "energi" not in words
    assert "busi" in words and "teknopol" not in words

    cluster.delete()
    assert "maritim" not in set(lexemes(Region, region.pk))


def test_admin_save_updates_the_vector(staff_client):
    article = make_article("Energy week", lead="A week of talks.")
    url = f"/admin/news/article/{article.pk}/change/"
    data = form_data(staff_client.get(url).content.decode(), "article_form")
    data.update(title="Hydrogen week", body="<p>Electrolysers in the harbour</p>")
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    words = lexemes(Article, article.pk)
    assert words["hydrogen"] == {"A"} and words["electrolys"] == {"C"}
    assert "energi" not in words


def test_loaddata_fills_the_vectors_of_the_objects_it_loads(tmp_path):
    fixture = tmp_path / "search.json"
    fixture.write_text(
        json.dumps(
            [
                {"model": "regions.region", "fields": {"name": "Vilnius", "slug": "vilnius", "country": "Lithuania",
                                                       "body": "<p>Laser technology</p>"}},
                {"model": "news.event", "fields": {"title": "Laser summit", "slug": "laser-summit",
                                                   "status": "published", "starts": "2030-05-01T09:00:00Z",
                                                   "ends": "2030-05-01T17:00:00Z", "city": "Vilnius"}},
                {"model": "news.article", "fields": {"title": "Photonics cluster", "slug": "photonics",
                                                     "lead": "Lasers made in Vilnius", "status": "published",
                                                     "publish_at": "2020-01-01T12:00:00Z", "body": "<p>Optics</p>"}},
            ]
        )
    )
    call_command("loaddata", str(fixture), verbosity=0)
    assert lexemes(Region, Region.objects.get(slug="vilnius").pk)["laser"] == {"C"}
    assert lexemes(Event, Event.objects.get(slug="laser-summit").pk)["laser"] == {"A"}
    article_words = lexemes(Article, Article.objects.get(slug="photonics").pk)
    assert article_words["photon"] == {"A"} and article_words["laser"] == {"B"} and article_words["optic"] == {"C"}


def test_loaddata_writes_the_vectors_once_per_model_not_once_per_object(tmp_path):
    # One UPDATE a loaded row made a large load about a third slower (bench/load_fixture.py).
    fixture = tmp_path / "many.json"
    fixture.write_text(
        json.dumps(
            [
                {"model": "news.article", "fields": {"title": f"Hydrogen valley {n}", "slug": f"hydrogen-{n}",
                                                     "status": "published", "publish_at": "2020-01-01T12:00:00Z",
                                                     "lead": "Electrolysers in the harbour"}}
                for n in range(5)
            ]
        )
    )
    with CaptureQueriesContext(connection) as queries:
        call_command("loaddata", str(fixture), verbosity=0)
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "news_article" SET')]
    assert len(updates) == 1, updates
    for article in Article.objects.filter(slug__startswith="hydrogen-"):
        words = lexemes(Article, article.pk)
        assert words["hydrogen"] == {"A"} and words["electrolys"] == {"B"}


def _loaded_article(slug, title):
    return {"model": "news.article", "fields": {"title": title, "slug": slug, "status": "published",
                                                "publish_at": "2020-01-01T12:00:00Z"}}


@pytest.mark.parametrize("fault", ["invalid", "missing reference", "duplicate"])
def test_the_load_after_a_failed_one_is_indexed(tmp_path, fault):
    # A failed load must leave no load running behind it: the next would be taken for one
    # within it, and index nothing.
    make_article("Taken", slug="taken")
    bad = {
        "invalid": {"model": "news.article", "fields": {"title": "", "slug": "bad", "status": "published"}},
        "missing reference": {"model": "news.article", "fields": {**_loaded_article("bad", "Bad")["fields"], "event": 999999}},
        "duplicate": {"model": "news.article", "pk": 999999, "fields": _loaded_article("taken", "Twice")["fields"]},
    }[fault]
    failing, loading = tmp_path / "failing.json", tmp_path / "loading.json"
    failing.write_text(json.dumps([_loaded_article("good", "Good"), bad]))
    loading.write_text(json.dumps([_loaded_article("after", "Quartz mine")]))
    with pytest.raises(CommandError):
        call_command("loaddata", str(failing), verbosity=0)
    assert not Article.objects.filter(slug="good").exists()
    call_command("loaddata", str(loading), verbosity=0)
    assert "quartz" in lexemes(Article, Article.objects.get(slug="after").pk)


def test_loading_a_region_with_its_agency_clusters_and_institutions_indexes_it_once():
    with CaptureQueriesContext(connection) as queries:
        call_command("loaddata", "regions_seed", verbosity=0)
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "regions_region" SET "search_vector"')]
    assert len(updates) == 1, updates
    words = lexemes(Region, Region.objects.get(slug="oslo").pk)
    assert {"teknopol", "maritim", "univers"} <= set(words)


def test_an_agency_renamed_by_a_load_is_in_its_regions_vectors(tmp_path):
    agency = make_organisation("vidzeme", name="Vidzeme Agency")
    region = make_region("riga", agency=agency)
    fixture = tmp_path / "renamed.json"
    fixture.write_text(json.dumps([{"model": "regions.organisation", "pk": agency.pk,
                                    "fields": {"name": "Kurzeme Agency", "slug": "vidzeme", "kind": "agency"}}]))
    call_command("loaddata", str(fixture), verbosity=0)
    words = lexemes(Region, region.pk)
    assert "kurzem" in words and "vidzem" not in words


def test_bulk_paths_index_with_update_vectors():
    Article.objects.bulk_create(
        [Article(title=f"Bulk {n}", slug=f"bulk-{n}", lead="Quantum sensors", status="published") for n in range(3)]
    )
    bulk = Article.objects.filter(slug__startswith="bulk-")
    pks = list(bulk.values_list("pk", flat=True))
    assert all(stored_vector(Article, pk) is None for pk in pks), "bulk_create sends no signal"
    assert update_vectors(bulk) == 3
    assert all(lexemes(Article, pk)["quantum"] == {"B"} for pk in pks)


def test_update_search_index_command_rebuilds_every_vector():
    article = make_article("Forgotten", lead="Graphene")
    region = make_region("riga", lead="Graphene valley")
    Article.objects.filter(pk=article.pk).update(search_vector=None)
    Region.objects.filter(pk=region.pk).update(search_vector=None)
    call_command("update_search_index", verbosity=0)
    assert "graphen" in lexemes(Article, article.pk)
    assert "graphen" in lexemes(Region, region.pk)
