from django.db import models


class Topic(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100)

    class Meta:
        managed = False  # the site's table
        db_table = "news_topic"
        ordering = ["name"]


class Article(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200)
    lead = models.TextField()
    status = models.CharField(max_length=20)
    publish_at = models.DateTimeField()

    class Meta:
        managed = False  # the site's table
        db_table = "news_article"
