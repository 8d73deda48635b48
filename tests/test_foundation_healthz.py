import json

from tests.settings_loader import STRONG_KEY
from tests.subprocess_env import run_django_json


def test_healthz_answers_200_after_a_database_round_trip(client, db, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


CHILD = """
from django.test.utils import setup_test_environment
setup_test_environment()
from django.test import Client
response = Client().get("/healthz")
print(json.dumps({"status": response.status_code, "body": response.content.decode()}))
"""


def test_healthz_answers_503_when_the_database_is_unreachable():
    answer = run_django_json(
        CHILD,
        {
            "DJANGO_SETTINGS_MODULE": "baltmet.settings",
            "DJANGO_SECRET_KEY": STRONG_KEY,
            "DJANGO_HTTPS": "0",
            # Nothing listens on port 1: the connection is refused at once.
            "DATABASE_URL": "postgres://nobody:nothing@127.0.0.1:1/nowhere",
        },
    )
    assert answer["status"] == 503
    assert json.loads(answer["body"]) == {"status": "unavailable", "database": "unreachable"}
