"""Indexes for the orders and filters of the public lists, chosen from EXPLAIN ANALYZE on
100 000 articles (docs/performance.md)."""

from django.db import migrations, models

# Many-to-many filters (a topic's news, a region's news): the through tables have
# (article_id, topic_id) unique and topic_id alone; counting a topic's published news reads
# (topic_id, article_id) alone and hash-joins it with the articles' list index.
THROUGH_INDEXES = [
    ("news_article_topics", "news_article_topics_topic_article_idx", "topic_id, article_id"),
    ("news_article_regions", "news_article_regions_region_article_idx", "region_id, article_id"),
]


class Migration(migrations.Migration):

    dependencies = [
        ("news", "0004_search_vector_inline"),
        ("regions", "0005_search_vector_inline"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="article",
            index=models.Index(fields=["status", "-publish_at", "-id", "updated"], name="article_published_list_idx"),
        ),
        migrations.RemoveIndex(model_name="article", name="article_status_publish_idx"),
        *(
            migrations.RunSQL(
                f"CREATE INDEX {name} ON {table} ({columns})",
                reverse_sql=f"DROP INDEX {name}",
            )
            for table, name, columns in THROUGH_INDEXES
        ),
    ]
